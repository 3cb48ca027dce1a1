"""Synthetic YouTube-8M: genuine YT8M-format TFRecords with a learnable label signal.

This is the embedded default dataset, so `make run` works with no download. The format matches a YouTube-8M release
exactly (2018 by default; `--dataset yt8m-2017`, or `yt8m-2016` for the seed README's Inception-v3 `inc3` frames
without audio): video-level tf.Example / frame-level
tf.SequenceExample, same keys and sizes; only the numbers are made up. Each class gets a random prototype direction;
a video's features are the normalised sum of its labels' prototypes plus noise, so a linear model can learn them.
Label frequencies follow a Zipf law, like the real vocabulary. Everything is deterministic given `seed`.
What is not made up matches genuine frame-level files (tests/test_genuine_frames.py compares them): 120-300
frames a video, the spread of the dequantized values within and across videos, ids like the release's, and
keys in the orders genuine records have them.

CLI:  python -m yt8m_tfx.data.synthetic --out DIR --videos N [--frame_level] [--seed S] [--dataset D]
"""
from __future__ import annotations

import argparse
import dataclasses
import os
from typing import Dict, Iterator, List, Optional, Sequence

import numpy as np

from yt8m_tfx import command_line, features


@dataclasses.dataclass(frozen=True)
class SyntheticConfig:
    dataset: str = features.DEFAULT_DATASET  # the release whose id feature and class count the data has
    num_classes: Optional[int] = None        # None: the release's
    seed: int = 0
    zipf_exponent: float = 1.0      # label frequency ~ 1 / rank**exponent
    mean_extra_labels: float = 1.5  # labels per video = 1 + Poisson(mean), capped
    max_labels: int = 8
    # The three scales give genuine 2018 frames' spread of dequantized values: ≈0.55 across video means,
    # ≈0.9 within a video, ≈1.05 overall (a few % of codes at 0 or 255).
    signal: float = 0.45            # prototype scale
    noise: float = 0.3              # per-video noise
    frame_noise: float = 0.95       # per-frame noise around the video mean
    # Genuine videos have 120-300 frames (one a second, the first 300 s); tests pass fewer to stay quick.
    min_frames: int = 120
    max_frames: int = 300


class SyntheticYT8M:
    """Draws videos; `video_level_examples` / `frame_level_examples` serialize them."""

    def __init__(self, config: SyntheticConfig = SyntheticConfig()):
        if config.num_classes is None:
            config = dataclasses.replace(config, num_classes=features.release(config.dataset).num_classes)
        if not 0 < config.min_frames <= config.max_frames <= features.MAX_FRAMES:
            raise command_line.UserError(f"--min_frames={config.min_frames} --max_frames={config.max_frames}: "
                                         f"need 0 < min_frames <= max_frames <= {features.MAX_FRAMES}")
        self.config = config
        self.frame_feature_sizes = features.feature_sizes(True, config.dataset)
        # Prototypes come from their own stream so they do not depend on how many videos are drawn.
        proto_rng = np.random.default_rng([config.seed, 1])
        self.prototypes = {
            name: proto_rng.standard_normal((config.num_classes, size), dtype=np.float32)
            for name, size in self.frame_feature_sizes.items()
        }
        ranks = np.arange(1, config.num_classes + 1, dtype=np.float64)
        weights = ranks ** -config.zipf_exponent
        self.class_probabilities = weights / weights.sum()

    def draw_labels(self, rng: np.random.Generator) -> np.ndarray:
        n = min(1 + rng.poisson(self.config.mean_extra_labels), self.config.max_labels)
        labels = rng.choice(self.config.num_classes, size=n, replace=False, p=self.class_probabilities)
        return np.sort(labels).astype(np.int64)

    def video_means(self, labels: np.ndarray, rng: np.random.Generator) -> Dict[str, np.ndarray]:
        """Per-feature mean embedding (frame-level names, e.g. rgb, audio) in the quantizable range."""
        means = {}
        for name, size in self.frame_feature_sizes.items():
            signal = self.prototypes[name][labels].sum(axis=0) / np.sqrt(len(labels))
            value = self.config.signal * signal + self.config.noise * rng.standard_normal(size)
            means[name] = np.clip(value, features.MIN_QUANTIZED_VALUE, features.MAX_QUANTIZED_VALUE)
        return means

    def videos(self, count: int, split: str) -> Iterator[dict]:
        """Yields dicts with id, labels, per-feature means and quantized frames (lazily)."""
        # One stream per split, so train and validate differ but each is reproducible.
        rng = np.random.default_rng([self.config.seed, 2, sum(map(ord, split))])
        for index in range(count):
            labels = self.draw_labels(rng)
            yield {
                "id": synthetic_video_id(split, index, self.config.dataset),
                "labels": labels,
                "means": self.video_means(labels, rng),
                "rng_seed": int(rng.integers(2**31)),
            }

    def frames(self, video: dict) -> Dict[str, np.ndarray]:
        """uint8 frames [num_frames, size] per feature, scattered around the video mean."""
        rng = np.random.default_rng(video["rng_seed"])
        num_frames = int(rng.integers(self.config.min_frames, self.config.max_frames + 1))
        out = {}
        for name, mean in video["means"].items():
            values = mean + self.config.frame_noise * rng.standard_normal((num_frames, mean.size), dtype=np.float32)
            out[name] = features.quantize(values)
        return out


# Ids are a bijection of (split, index): index * ID_SPLIT_SLOTS + the split's slot, scrambled by a multiplier
# that shares no factor with the number of possible ids, so they look random yet never repeat.
ID_SPLIT_SLOTS = 16
ID_SCRAMBLE = 2_654_435_761


def synthetic_video_id(split: str, index: int, dataset: str = features.DEFAULT_DATASET) -> str:
    """A unique id shaped like the release's (2018: 4 characters such as "1hbF"; 2017: 9 digits)."""
    import math
    release = features.release(dataset)
    base, length = len(release.id_characters), release.id_length
    space = base ** length
    number = index * ID_SPLIT_SLOTS + sum(map(ord, split)) % ID_SPLIT_SLOTS
    if number >= space:
        raise command_line.UserError(f"{dataset} ids have {length} characters: at most "
                                     f"{space // ID_SPLIT_SLOTS:,} synthetic videos a split")
    assert math.gcd(ID_SCRAMBLE, space) == 1
    number = number * ID_SCRAMBLE % space
    characters = []
    for _ in range(length):
        number, digit = divmod(number, base)
        characters.append(release.id_characters[digit])
    return "".join(characters)


def _length_delimited(field: int, payload: bytes) -> bytes:
    """One protobuf field of wire type 2 (an embedded message): tag, varint length, payload."""
    length, size = bytearray(), len(payload)
    while True:
        length.append((size & 0x7F) | (0x80 if size > 0x7F else 0))
        size >>= 7
        if not size:
            break
    return bytes([field << 3 | 2]) + bytes(length) + payload


def serialized_in_key_order(example, key_order: Sequence[str], list_order: Sequence[str] = ()) -> bytes:
    """A tf.Example (or a tf.SequenceExample's context) serialized with its keys in key_order, its feature lists
    in list_order, where protobuf would write map entries in whatever order it likes. Protobuf merges
    concatenated messages, so one-entry maps written in turn are one map with the entries in that order."""
    import tensorflow as tf

    def features_bytes(feature_map):
        return b"".join(tf.train.Features(feature={k: feature_map[k]}).SerializeToString() for k in key_order)

    if isinstance(example, tf.train.SequenceExample):
        lists = example.feature_lists.feature_list
        lists_bytes = b"".join(tf.train.FeatureLists(feature_list={k: lists[k]}).SerializeToString()
                               for k in list_order)
        # SequenceExample: context is field 1, feature_lists field 2.
        return _length_delimited(1, features_bytes(example.context.feature)) + _length_delimited(2, lists_bytes)
    return _length_delimited(1, features_bytes(example.features.feature))  # Example: features is field 1


def genuine_key_order(rng: np.random.Generator, frame_level: bool, dataset: str = features.DEFAULT_DATASET):
    """(keys, feature lists) in an order genuine records have, drawn as often as they have it. Their writer's
    map order varies record by record; counted on the shared genuine 2018 files (2,950 video-level records
    in 10 shards, the 116 frame-level ones): video-level keys come in the order
    (labels, <features>, id) started at the features (48 %), at the id (26 %) or at labels (26 %);
    frame-level context (id, labels) 78 %, (labels, id) 22 %, and the feature lists in either order equally.
    A reader that assumed one order would fail on genuine data, so the generator's records vary too."""
    release = features.release(dataset)
    names = list(release.feature_sizes(frame_level))
    if frame_level:
        context = [release.id_key, features.LABELS_KEY]
        return (context if rng.random() < 0.78 else context[::-1]), (names if rng.random() < 0.5 else names[::-1])
    cycle = [features.LABELS_KEY, *names, release.id_key]
    start = rng.choice([1, len(cycle) - 1, 0], p=[0.48, 0.26, 0.26])
    return cycle[start:] + cycle[:start], []


def _bytes(values: List[bytes]):
    import tensorflow as tf
    return tf.train.Feature(bytes_list=tf.train.BytesList(value=values))


def _ints(values):
    import tensorflow as tf
    return tf.train.Feature(int64_list=tf.train.Int64List(value=[int(v) for v in values]))


def _floats(values):
    import tensorflow as tf
    return tf.train.Feature(float_list=tf.train.FloatList(value=np.asarray(values, np.float32)))


def video_level_example(video_id: str, labels, *feature_values, dataset: str = features.DEFAULT_DATASET):
    """A tf.Example laid out like the release's video-level data; feature_values in the release's feature
    order (2018: mean_rgb, mean_audio; 2016: mean_inc3). labels None: no `labels` feature (like test shards)."""
    import tensorflow as tf
    names = list(features.feature_sizes(False, dataset))
    if len(feature_values) != len(names):
        raise ValueError(f"{dataset} video-level records have {len(names)} features ({', '.join(names)})")
    feature = {
        features.release(dataset).id_key: _bytes([video_id.encode()]),
        **({} if labels is None else {features.LABELS_KEY: _ints(labels)}),
        **{name: _floats(values) for name, values in zip(names, feature_values)},
    }
    return tf.train.Example(features=tf.train.Features(feature=feature))


def frame_level_example(video_id: str, labels, frames: Dict[str, np.ndarray],
                        dataset: str = features.DEFAULT_DATASET):
    """A tf.SequenceExample laid out like the release's frame-level data (one bytes value per frame)."""
    import tensorflow as tf
    context = tf.train.Features(feature={
        features.release(dataset).id_key: _bytes([video_id.encode()]),
        features.LABELS_KEY: _ints(labels),
    })
    feature_lists = tf.train.FeatureLists(feature_list={
        name: tf.train.FeatureList(feature=[_bytes([row.tobytes()]) for row in frames[name]])
        for name in features.feature_sizes(True, dataset)
    })
    return tf.train.SequenceExample(context=context, feature_lists=feature_lists)


def serialize_video(generator: SyntheticYT8M, video: dict, frame_level: bool) -> bytes:
    dataset = generator.config.dataset
    frames = generator.frames(video)
    key_order, list_order = genuine_key_order(np.random.default_rng([video["rng_seed"], 3]), frame_level, dataset)
    if frame_level:
        example = frame_level_example(video["id"], video["labels"], frames, dataset)
    else:
        # Video-level means are the dequantized frame means of the same video, as in the real release.
        means = [features.dequantize(frames[name].astype(np.float32)).mean(axis=0) for name in frames]
        example = video_level_example(video["id"], video["labels"], *means, dataset=dataset)
    return serialized_in_key_order(example, key_order, list_order)


def write_split(out_dir: str, split: str, videos: int, shards: int, frame_level: bool,
                generator: SyntheticYT8M) -> List[str]:
    """Writes `<split>NNNN.tfrecord` shards (round-robin) and returns their paths."""
    import tensorflow as tf
    os.makedirs(out_dir, exist_ok=True)
    shards = max(1, min(shards, videos))
    paths = [os.path.join(out_dir, f"{split}{i:04d}.tfrecord") for i in range(shards)]
    writers = [tf.io.TFRecordWriter(p) for p in paths]
    try:
        for index, video in enumerate(generator.videos(videos, split)):
            writers[index % shards].write(serialize_video(generator, video, frame_level))
    finally:
        for w in writers:
            w.close()
    return paths


def generate(out_dir: str, train_videos: int = 2000, eval_videos: int = 500, shards: int = 4,
             frame_level: bool = False, config: Optional[SyntheticConfig] = None) -> Dict[str, List[str]]:
    generator = SyntheticYT8M(config or SyntheticConfig())
    return {
        "train": write_split(out_dir, "train", train_videos, shards, frame_level, generator),
        "validate": write_split(out_dir, "validate", eval_videos, shards, frame_level, generator),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument("--videos", type=int, default=2000, help="training videos")
    parser.add_argument("--eval_videos", type=int, default=None, help="validation videos (default videos/4)")
    parser.add_argument("--shards", type=int, default=4, help="shards per split")
    parser.add_argument("--frame_level", action="store_true", help="write frame-level SequenceExamples")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dataset", default=features.DEFAULT_DATASET, choices=list(features.RELEASES))
    parser.add_argument("--num_classes", type=int, default=None, help="default: the release's")
    parser.add_argument("--min_frames", type=int, default=SyntheticConfig.min_frames)
    parser.add_argument("--max_frames", type=int, default=SyntheticConfig.max_frames)
    command_line.add_verbose_flag(parser)
    args = parser.parse_args(argv)
    config = SyntheticConfig(dataset=args.dataset, seed=args.seed, num_classes=args.num_classes,
                             min_frames=args.min_frames, max_frames=args.max_frames)
    eval_videos = args.eval_videos if args.eval_videos is not None else max(1, args.videos // 4)
    written = generate(args.out, args.videos, eval_videos, args.shards, args.frame_level, config)
    for split, paths in written.items():
        print(f"{split}: {len(paths)} shard(s) in {args.out}")
    return 0


if __name__ == "__main__":
    import sys
    sys.exit(command_line.run_tool(main))
