"""The Kaggle / starter-code predictions CSV: `VideoId,LabelConfidencePairs`.

Each row: `<video id>,<class> <score> <class> <score> ...`, the top_k classes by descending score,
scores printed with `%g` like the starter code's inference.py — except a score below 1 that `%g` would
round up to "1" (>= 0.9999995), which gets the 9 significant digits a float32 needs (0.99999976), so
confident scores keep their order in the file instead of tying at 1.
"""
from __future__ import annotations

import csv
import io
from typing import List, Sequence

import numpy as np

from yt8m_tfx import features

HEADER = "VideoId,LabelConfidencePairs"


def format_score(score: float) -> str:
    text = "%g" % score
    return "%.9g" % score if text == "1" and score < 1 else text


def format_row(video_id, class_indices: Sequence[int], scores: Sequence[float]) -> str:
    if isinstance(video_id, bytes):
        video_id = video_id.decode("utf-8")
    if len(class_indices) != len(scores):
        raise ValueError(f"{len(class_indices)} classes but {len(scores)} scores for video {video_id!r}")
    order = np.argsort(-np.asarray(scores, np.float64), kind="stable")
    pairs = " ".join("%i %s" % (int(class_indices[i]), format_score(float(scores[i]))) for i in order)
    return f"{video_id},{pairs}"


NAMED_HEADER = "VideoId,Rank,ClassId,ClassName,Vertical,Score"


def named_rows(video_id, class_indices: Sequence[int], scores: Sequence[float], vocabulary) -> List[str]:
    """One CSV line per (video, predicted class), best first, with the class's name and vertical: the
    predictions.csv pairs in a form a person (or pandas) can read. vocabulary: yt8m_tfx.class_names."""
    from yt8m_tfx.class_names import display_name
    if isinstance(video_id, bytes):
        video_id = video_id.decode("utf-8")
    order = np.argsort(-np.asarray(scores, np.float64), kind="stable")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for rank, i in enumerate(order, start=1):
        class_id = int(class_indices[i])
        writer.writerow([video_id, rank, class_id, display_name(vocabulary, class_id),
                         vocabulary[class_id].vertical, format_score(float(scores[i]))])
    return out.getvalue().splitlines()

