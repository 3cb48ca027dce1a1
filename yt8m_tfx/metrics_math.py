"""Pure numpy YouTube-8M metrics: the one implementation the TFMA plugin, tests and benches use.

Definitions follow the starter code's eval_util (Kaggle GAP, hit@1, PERR) with non-interpolated AP.
Ties in score are ordered negatives-first so every merge order gives the same number.
"""
from __future__ import annotations

import dataclasses
from typing import Optional, Tuple

import numpy as np

from yt8m_tfx import features

DEFAULT_TOP_K = features.TOP_K
# Exact GAP keeps every (score, is_positive) pair; past this many pairs (~80 MB) it switches to bins.
DEFAULT_MAX_EXACT_PAIRS = 10_000_000
DEFAULT_NUM_BINS = 100_000


def top_k_pairs(predictions: np.ndarray, labels: np.ndarray, top_k: int = DEFAULT_TOP_K
                ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per video: the top_k (class, score, is_positive) triplets, each [num_videos, k].

    predictions: [N, C] scores; labels: [N, C] multi-hot (anything > 0 counts as positive).
    """
    predictions = np.asarray(predictions)
    labels = np.asarray(labels)
    if predictions.shape != labels.shape or predictions.ndim != 2:
        raise ValueError(f"predictions {predictions.shape} and labels {labels.shape} must both be [N, C]")
    k = min(top_k, predictions.shape[1])
    classes = np.argpartition(-predictions, k - 1, axis=1)[:, :k]
    rows = np.arange(predictions.shape[0])[:, None]
    scores = predictions[rows, classes]
    order = np.argsort(-scores, axis=1, kind="stable")
    classes = classes[rows, order]
    return classes, scores[rows, order], labels[rows, classes] > 0


def average_precision(scores: np.ndarray, positives: np.ndarray, num_positives: int) -> float:
    """Non-interpolated AP of pooled items: sum of precision@i at each positive / num_positives."""
    scores = np.asarray(scores, np.float64).ravel()
    positives = np.asarray(positives, bool).ravel()
    if num_positives <= 0:
        return 0.0
    # Sort by score descending, negatives first within a tie (lexsort: last key is primary).
    order = np.lexsort((positives, -scores))
    hits = positives[order]
    ranks = np.arange(1, hits.size + 1, dtype=np.float64)
    precision_at_hits = np.cumsum(hits)[hits] / ranks[hits]
    return float(precision_at_hits.sum() / num_positives)


def gap(predictions: np.ndarray, labels: np.ndarray, top_k: int = DEFAULT_TOP_K) -> float:
    """Global Average Precision (Kaggle YouTube-8M): AP over all videos' pooled top_k predictions.

    The denominator counts every positive label, including those that fell outside a video's top_k.
    """
    _, scores, positives = top_k_pairs(predictions, labels, top_k)
    return average_precision(scores, positives, int((np.asarray(labels) > 0).sum()))


def hit_at_one(predictions: np.ndarray, labels: np.ndarray) -> float:
    """Fraction of videos whose highest-scored class is one of their labels."""
    return float(np.mean(hit_at_one_per_video(predictions, labels)))


def hit_at_one_per_video(predictions: np.ndarray, labels: np.ndarray) -> np.ndarray:
    predictions = np.asarray(predictions)
    top = np.argmax(predictions, axis=1)
    return (np.asarray(labels)[np.arange(predictions.shape[0]), top] > 0).astype(np.float64)


def perr_per_video(predictions: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Precision at equal recall rate per video: with L labels, the precision of the top L scores.

    Like the starter code, a video without labels scores 0 and only scores > 0 can be hits. Ranks follow a
    stable sort by score (lower class id first within a tie).
    """
    predictions = np.asarray(predictions)
    positive = np.asarray(labels) > 0
    num_labels = positive.sum(axis=1)
    scorable_positive = positive & (predictions > 0)
    rows = np.arange(predictions.shape[0])
    # Only the top max(L) of a row can count, so rank those instead of all classes (a full argsort per
    # video was most of the Evaluator's metric time). Rows whose max(L)-th score is tied with a class
    # outside the top max(L) would need the tie order of a full sort, so they get one.
    k = int(min(max(num_labels.max(initial=0), 1), predictions.shape[1]))
    candidates = np.argpartition(-predictions, k - 1, axis=1)[:, :k]
    candidate_scores = predictions[rows[:, None], candidates]
    kth_score = candidate_scores.min(axis=1)
    tied_at_boundary = (predictions >= kth_score[:, None]).sum(axis=1) > k
    order = np.lexsort((candidates, -candidate_scores), axis=1)
    ranked = np.take_along_axis(candidates, order, axis=1)
    if tied_at_boundary.any():
        full = np.argsort(-predictions[tied_at_boundary], axis=1, kind="stable")[:, :k]
        ranked[tied_at_boundary] = full
    hits_in_top = np.cumsum(scorable_positive[rows[:, None], ranked], axis=1)
    safe = np.clip(num_labels, 1, k)
    return np.where(num_labels > 0, hits_in_top[rows, safe - 1] / safe, 0.0)


def perr(predictions: np.ndarray, labels: np.ndarray) -> float:
    return float(np.mean(perr_per_video(predictions, labels)))


@dataclasses.dataclass
class GapState:
    """Mergeable GAP accumulator with bounded memory.

    Exact mode keeps each video's top-k (score, is_positive) pairs. When more than `max_exact_pairs`
    are held it folds them into `num_bins` equal-width score bins over [0, 1] (positive and negative
    counts). Within a bin the order is unknown, so binned mode reports the midpoint of the best-case
    (positives first) and worst-case (negatives first) AP; `error_bound()` is half their gap, computed
    from the counts themselves, so the reported GAP is within error_bound of the exact one.
    """
    max_exact_pairs: int = DEFAULT_MAX_EXACT_PAIRS
    num_bins: int = DEFAULT_NUM_BINS
    num_positives: int = 0
    scores: list = dataclasses.field(default_factory=list)
    positives: list = dataclasses.field(default_factory=list)
    num_pairs: int = 0
    bin_positives: Optional[np.ndarray] = None
    bin_negatives: Optional[np.ndarray] = None

    @property
    def binned(self) -> bool:
        return self.bin_positives is not None

    def add(self, scores: np.ndarray, positives: np.ndarray, num_positives: int) -> "GapState":
        """Adds pooled top-k pairs (any shape) and the number of positive labels they came from."""
        scores = np.asarray(scores, np.float32).ravel()
        positives = np.asarray(positives, bool).ravel()
        self.num_positives += int(num_positives)
        self._add_pairs(scores, positives)
        return self

    def add_videos(self, predictions: np.ndarray, labels: np.ndarray, top_k: int = DEFAULT_TOP_K) -> "GapState":
        _, scores, positives = top_k_pairs(predictions, labels, top_k)
        return self.add(scores, positives, int((np.asarray(labels) > 0).sum()))

    def merge(self, other: "GapState") -> "GapState":
        self.num_positives += other.num_positives
        if other.binned:
            if not self.binned:
                self._to_bins()
            self.bin_positives += other.bin_positives
            self.bin_negatives += other.bin_negatives
        for scores, positives in zip(other.scores, other.positives):
            self._add_pairs(scores, positives)
        return self

    def compact(self) -> "GapState":
        if len(self.scores) > 1:
            self.scores = [np.concatenate(self.scores)]
            self.positives = [np.concatenate(self.positives)]
        return self

    def result(self) -> float:
        if self.binned:
            low, high = self._binned_bounds()
            return (low + high) / 2.0
        self.compact()
        if not self.scores:
            return 0.0
        return average_precision(self.scores[0], self.positives[0], self.num_positives)

    def error_bound(self) -> float:
        """0 in exact mode; in binned mode the largest possible |result() - exact GAP|."""
        if not self.binned:
            return 0.0
        low, high = self._binned_bounds()
        return (high - low) / 2.0

    def _add_pairs(self, scores, positives):
        if self.binned:
            self._add_to_bins(scores, positives)
            return
        self.scores.append(scores)
        self.positives.append(positives)
        self.num_pairs += scores.size
        if self.num_pairs > self.max_exact_pairs:
            self._to_bins()

    # -- binned mode -------------------------------------------------------------------------
    def _add_to_bins(self, scores, positives):
        index = score_bins(scores, self.num_bins)
        self.bin_positives += np.bincount(index[positives], minlength=self.num_bins)
        self.bin_negatives += np.bincount(index[~positives], minlength=self.num_bins)

    def _to_bins(self):
        self.bin_positives = np.zeros(self.num_bins, np.int64)
        self.bin_negatives = np.zeros(self.num_bins, np.int64)
        for s, p in zip(self.scores, self.positives):
            self._add_to_bins(s, p)
        self.scores, self.positives, self.num_pairs = [], [], 0

    def _binned_bounds(self) -> Tuple[float, float]:
        low, high = binned_ap_bounds(self.bin_positives, self.bin_negatives, self.num_positives)
        return float(low), float(high)


def score_bins(scores: np.ndarray, num_bins: int) -> np.ndarray:
    """Equal-width bin of each score over [0, 1]; out-of-range scores go to the end bins."""
    return np.clip((np.clip(scores, 0.0, 1.0) * num_bins).astype(np.int64), 0, num_bins - 1)


def binned_ap_bounds(bin_positives: np.ndarray, bin_negatives: np.ndarray, num_positives):
    """(lowest, highest) AP consistent with per-bin counts; bins ascend in score along the last axis.

    Works on one histogram [B] or a stack of them [..., B] (one per class for MAP). Within a bin the
    order is unknown: positives first gives the highest AP, negatives first the lowest.
    """
    from scipy.special import digamma  # scipy ships with TFMA
    pos = bin_positives[..., ::-1].astype(np.float64)  # walk from the highest score down
    neg = bin_negatives[..., ::-1].astype(np.float64)
    pos_before = np.cumsum(pos, axis=-1) - pos
    items_before = np.cumsum(pos + neg, axis=-1) - (pos + neg)
    num_positives = np.asarray(num_positives, np.float64)
    safe_positives = np.where(num_positives > 0, num_positives, 1.0)

    def sum_precisions(offset_items):
        # sum_{i=1..p} (P+i)/(T+i) = p - (T-P) * (digamma(T+p+1) - digamma(T+1))
        t = items_before + offset_items
        harmonic = digamma(t + pos + 1.0) - digamma(t + 1.0)
        total = np.where(pos > 0, pos - (t - pos_before) * harmonic, 0.0).sum(axis=-1)
        return np.where(num_positives > 0, total / safe_positives, 0.0)

    return sum_precisions(neg), sum_precisions(0.0)


def _grouped_average_precision(groups, scores, positives, num_positives_per_group):
    """Non-interpolated AP of each group (class) from its pooled items; 0 for groups without positives."""
    order = np.lexsort((positives, -scores.astype(np.float64), groups))
    groups, hits = groups[order], positives[order]
    starts = np.r_[0, np.flatnonzero(np.diff(groups)) + 1]
    lengths = np.diff(np.r_[starts, groups.size])
    rank = np.arange(groups.size) - np.repeat(starts, lengths) + 1
    cumulative_hits = np.cumsum(hits)
    hits_before_group = np.repeat(cumulative_hits[starts] - hits[starts], lengths)
    precision_at_hits = np.where(hits, (cumulative_hits - hits_before_group) / rank, 0.0)
    sums = np.bincount(groups, weights=precision_at_hits, minlength=num_positives_per_group.size)
    return np.divide(sums, num_positives_per_group, out=np.zeros_like(sums),
                     where=num_positives_per_group > 0)


def mean_ap(predictions: np.ndarray, labels: np.ndarray, top_k: int = DEFAULT_TOP_K) -> float:
    """The starter code's MAP: per-class AP over the (video, class) pairs in each video's top_k,
    with every positive of the class in the denominator; mean over classes that have positives."""
    return MapState().add_videos(predictions, labels, top_k).result()


@dataclasses.dataclass
class MapState:
    """Mergeable MAP accumulator: like GapState but per class (exact triplets, then [C, bins] counts)."""
    max_exact_pairs: int = DEFAULT_MAX_EXACT_PAIRS
    num_bins: int = 1000
    positives_per_class: Optional[np.ndarray] = None
    triplets: list = dataclasses.field(default_factory=list)  # (classes, scores, positives)
    num_pairs: int = 0
    bin_positives: Optional[np.ndarray] = None  # [C, bins]
    bin_negatives: Optional[np.ndarray] = None

    @property
    def binned(self) -> bool:
        return self.bin_positives is not None

    def add_videos(self, predictions, labels, top_k: int = DEFAULT_TOP_K) -> "MapState":
        classes, scores, positives = top_k_pairs(predictions, labels, top_k)
        counts = (np.asarray(labels) > 0).sum(axis=0).astype(np.int64)
        self._merge_counts(counts)
        self._add((classes.ravel().astype(np.int32), scores.ravel().astype(np.float32), positives.ravel()))
        return self

    def merge(self, other: "MapState") -> "MapState":
        if other.positives_per_class is not None:
            self._merge_counts(other.positives_per_class)
        if other.binned:
            if not self.binned:
                self._to_bins()
            self.bin_positives += other.bin_positives
            self.bin_negatives += other.bin_negatives
        for triplet in other.triplets:
            self._add(triplet)
        return self

    def compact(self) -> "MapState":
        if len(self.triplets) > 1:
            self.triplets = [tuple(np.concatenate(parts) for parts in zip(*self.triplets))]
        return self

    def per_class_bounds(self):
        """(low, high) AP per class; equal in exact mode."""
        if self.positives_per_class is None:
            return np.zeros(0), np.zeros(0)
        if self.binned:
            return binned_ap_bounds(self.bin_positives, self.bin_negatives, self.positives_per_class)
        self.compact()
        if not self.triplets:
            ap = np.zeros(self.positives_per_class.size)
        else:
            ap = _grouped_average_precision(*self.triplets[0], self.positives_per_class)
        return ap, ap

    def result(self) -> float:
        low, high = self.per_class_bounds()
        with_positives = self.positives_per_class is not None and self.positives_per_class > 0
        if not np.any(with_positives):
            return 0.0
        return float(((low + high) / 2)[with_positives].mean())

    def error_bound(self) -> float:
        low, high = self.per_class_bounds()
        if low.size == 0 or not np.any(self.positives_per_class > 0):
            return 0.0
        return float(((high - low) / 2)[self.positives_per_class > 0].mean())

    def _merge_counts(self, counts):
        if self.positives_per_class is None:
            self.positives_per_class = np.zeros(counts.size, np.int64)
        self.positives_per_class += counts

    def _add(self, triplet):
        if self.binned:
            self._add_to_bins(*triplet)
            return
        self.triplets.append(triplet)
        self.num_pairs += triplet[0].size
        if self.num_pairs > self.max_exact_pairs:
            self._to_bins()

    def _add_to_bins(self, classes, scores, positives):
        flat = classes.astype(np.int64) * self.num_bins + score_bins(scores, self.num_bins)
        size = self.bin_positives.size
        self.bin_positives += np.bincount(flat[positives], minlength=size).reshape(self.bin_positives.shape)
        self.bin_negatives += np.bincount(flat[~positives], minlength=size).reshape(self.bin_negatives.shape)

    def _to_bins(self):
        shape = (self.positives_per_class.size, self.num_bins)
        self.bin_positives = np.zeros(shape, np.int64)
        self.bin_negatives = np.zeros(shape, np.int64)
        for triplet in self.triplets:
            self._add_to_bins(*triplet)
        self.triplets, self.num_pairs = [], 0
