"""Class names and verticals of the YouTube-8M 2018 vocabulary (3,862 classes), for people reading outputs.
The 2017 release's vocabulary (4,716 classes) is not shipped: its outputs keep bare class ids.

The data file is the dataset's own vocabulary.csv trimmed to the columns the project shows (yt8m_tfx/vocabulary/
README.md: source and licence). Models, metrics and predictions.csv use class ids only; names are added
to the named predictions CSV and reports.
"""
from __future__ import annotations

import csv
import dataclasses
import functools
import os
from typing import List, Optional

from yt8m_tfx import features

VOCABULARY_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "vocabulary")
VOCABULARY_2018 = os.path.join(VOCABULARY_DIR, features.RELEASES["yt8m-2018"].vocabulary)


@dataclasses.dataclass(frozen=True)
class ClassInfo:
    name: str       # "" for the few classes the dataset left unnamed
    vertical: str   # the class's first vertical, e.g. "Games"
    train_video_count: int = 0  # videos with this label in the release's full training set (3.9M for 2018)


@functools.lru_cache(maxsize=None)
def load_vocabulary(path: str = VOCABULARY_2018, num_classes: int = features.NUM_CLASSES) -> List[ClassInfo]:
    """[ClassInfo] indexed by class id; the file must list ids 0..num_classes-1 exactly once."""
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    ids = [int(row["Index"]) for row in rows]
    if sorted(ids) != list(range(num_classes)):
        raise ValueError(f"{path}: expected class ids 0..{num_classes - 1} once each, got {len(ids)} rows")
    vocabulary = [ClassInfo("", "")] * num_classes
    for class_id, row in zip(ids, rows):
        vocabulary[class_id] = ClassInfo(row["Name"], row["Vertical1"], int(row.get("TrainVideoCount") or 0))
    return vocabulary


def vocabulary_of(dataset: str) -> Optional[List[ClassInfo]]:
    """The release's vocabulary, None when the project ships none for it."""
    release = features.release(dataset)
    if release.vocabulary is None:
        return None
    return load_vocabulary(os.path.join(VOCABULARY_DIR, release.vocabulary), release.num_classes)


def release_class_counts(dataset: str) -> Optional[List[int]]:
    """Each class's video count in the release's full training set (the dataset's published label
    frequencies), None when the project ships no vocabulary for the release."""
    vocabulary = vocabulary_of(dataset)
    return None if vocabulary is None else [info.train_video_count for info in vocabulary]


def display_name(vocabulary: List[ClassInfo], class_id: int) -> str:
    return vocabulary[class_id].name or f"class {class_id}"
