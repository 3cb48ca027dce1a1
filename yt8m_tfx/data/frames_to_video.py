"""Frame-level shards -> video-level shards: each video's `mean_<feature>` is the mean of its dequantized frames.

The release's own video-level features are the means of the frame features before 8-bit quantization, so
these agree with a genuine video-level file up to that quantization (a code is 4/255 ≈ 0.016 wide). Ids and
labels are copied (label-less test shards stay label-less) and the release is read off the records (2018
`id`; 2017 / 2016 `video_id`, 2016 with `inc3` frames), so the video-level pipeline and recipes can train on a
frame-level download. One output shard per input file, same name, so a split by file carries over.

  python -m yt8m_tfx.data.frames_to_video --input 'frames/train*.tfrecord' --output video_level/
"""
from __future__ import annotations

import argparse
import os
import sys
import multiprocessing
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from yt8m_tfx import command_line, features


def release_of_sequence_example(context_keys, feature_list_keys, where: str) -> features.Release:
    """The release whose id key is in the context and whose frame features are all feature lists."""
    found = features.releases_matching(context_keys, feature_list_keys, frame_level=True)
    if len(found) != 1:
        expected = "; ".join(f"{r.name}: context {r.id_key}, frames {', '.join(r.feature_sizes(True))}"
                             for r in features.RELEASES.values())
        raise command_line.UserError(
            f"{where}: not a YouTube-8M frame-level record (context {', '.join(sorted(context_keys)) or 'empty'}; "
            f"feature lists {', '.join(sorted(feature_list_keys)) or 'none'}); expected one of ({expected})")
    return found[0]


def frame_means(codes: np.ndarray) -> np.ndarray:
    """uint8 frames [num_frames, size] -> the dequantized mean [size] (float32). Dequantization is affine,
    so the mean of the dequantized frames is the dequantized mean code, summed in float64."""
    return features.dequantize(codes.astype(np.float64).mean(axis=0)).astype(np.float32)


def video_level_values(serialized: bytes, where: str) -> Tuple[features.Release, str, Optional[List[int]],
                                                                  Dict[str, np.ndarray]]:
    """One serialized frame-level SequenceExample -> (release, video id, labels or None, {mean_<name>: mean})."""
    import tensorflow as tf
    example = tf.train.SequenceExample.FromString(serialized)
    context, lists = example.context.feature, example.feature_lists.feature_list
    release = release_of_sequence_example(set(context), set(lists), where)
    video_id = context[release.id_key].bytes_list.value[0].decode()
    labels = list(context[features.LABELS_KEY].int64_list.value) if features.LABELS_KEY in context else None
    means = {}
    for name, size in release.feature_sizes(True).items():
        frames = [frame.bytes_list.value for frame in lists[name].feature]
        if not frames:
            raise command_line.UserError(f"{where}: video {video_id!r} has no '{name}' frames to average")
        if any(len(values) != 1 or len(values[0]) != size for values in frames):
            raise command_line.UserError(f"{where}: video {video_id!r}: every '{name}' frame must be one byte "
                                         f"string of {size} uint8 codes")
        codes = np.frombuffer(b"".join(values[0] for values in frames), np.uint8).reshape(len(frames), size)
        means[features.VIDEO_FEATURE_PREFIX + name] = frame_means(codes)
    return release, video_id, labels, means


def video_level_record(serialized: bytes, where: str) -> Tuple[str, bytes]:
    """(release name, serialized video-level tf.Example) of one frame-level record."""
    from yt8m_tfx.data.synthetic import video_level_example
    release, video_id, labels, means = video_level_values(serialized, where)
    example = video_level_example(video_id, labels, *means.values(), dataset=release.name)
    return release.name, example.SerializeToString()


def convert_file(paths: Tuple[str, str]) -> Tuple[str, int, List[str]]:
    """Writes one input file's videos to the output path; returns (path, videos, releases seen)."""
    import tensorflow as tf
    source, destination = paths
    count, releases = 0, set()
    with tf.io.TFRecordWriter(destination + ".partial") as writer:
        for index, record in enumerate(tf.data.TFRecordDataset([source]).as_numpy_iterator()):
            release, serialized = video_level_record(record, f"{source} record {index}")
            releases.add(release)
            writer.write(serialized)
            count += 1
    tf.io.gfile.rename(destination + ".partial", destination, overwrite=True)
    return source, count, sorted(releases)


def conversion_plan(input_patterns: Sequence[str], output_dir: str) -> List[Tuple[str, str]]:
    """(input file, output file) pairs. A pattern that matches nothing, two inputs of one name and an output
    that would overwrite its input are errors."""
    import tensorflow as tf
    plan, outputs = [], {}
    for pattern in input_patterns:
        matched = sorted(tf.io.gfile.glob(pattern))
        if not matched:
            raise command_line.UserError(f"--input {pattern!r} matches no file")
        for path in matched:
            name = os.path.basename(path)
            destination = os.path.join(output_dir, name)
            if os.path.abspath(destination) == os.path.abspath(path):
                raise command_line.UserError(f"--output {output_dir!r} holds the input {path}: it would be "
                                             "overwritten; write the video-level shards elsewhere")
            if name in outputs:
                if outputs[name] != path:
                    raise command_line.UserError(f"{outputs[name]} and {path} would both be written to "
                                                 f"{destination}")
                continue  # matched by two patterns: converted once
            outputs[name] = path
            plan.append((path, destination))
    return plan


def convert(input_patterns: Sequence[str], output_dir: str, workers: int = 1) -> Dict[str, int]:
    """Converts every matched file; returns {output file: videos}. All files must be one release."""
    import tensorflow as tf
    plan = conversion_plan(input_patterns, output_dir)
    tf.io.gfile.makedirs(output_dir)
    if workers > 1 and len(plan) > 1:
        # Fresh processes: forking one whose TensorFlow runtime has started its threads can deadlock.
        with multiprocessing.get_context("spawn").Pool(min(workers, len(plan)),
                                                       initializer=command_line.import_tensorflow_quietly) as pool:
            results = pool.map(convert_file, plan, chunksize=1)
    else:
        results = [convert_file(pair) for pair in plan]
    releases = {release for _, _, seen in results for release in seen}
    if len(releases) > 1:
        raise command_line.UserError(f"the input mixes YouTube-8M releases ({', '.join(sorted(releases))})")
    return {destination: count for (_, destination), (_, count, _) in zip(plan, results)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m yt8m_tfx.data.frames_to_video", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--input", required=True, action="append",
                        help="frame-level TFRecord file pattern (repeatable), e.g. 'frames/train*.tfrecord'")
    parser.add_argument("--output", required=True, help="directory for the video-level shards (same file names)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="files converted in parallel (default: one per CPU)")
    command_line.add_verbose_flag(parser)
    args = parser.parse_args(argv)
    written = convert(args.input, args.output, args.workers)
    print(f"{sum(written.values())} videos in {len(written)} video-level shard(s) in {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(command_line.run_tool(main))
