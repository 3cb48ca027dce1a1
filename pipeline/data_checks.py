"""Cheap pre-flight checks of input shards, run by local_runner before the pipeline starts.

A TFRecord is a sequence of [uint64 length][uint32 crc][data][uint32 crc]. Walking the records finds
truncated shards (an interrupted download) and, with the CRCs, flipped bytes (bit rot, a bad copy), and
names file, record and byte offset; without it the pipeline fails deep inside ImportExampleGen with
"Not a valid TFRecord. Mismatch of data mask: <a kilobyte of hex>" and no file name. CRC32C is computed by
google-crc32c's C code (near disk speed, bench/results/shard_check.json); --skip_shard_check skips it all.

A damaged shard can be repaired by dropping its bad records:
  python -m pipeline.data_checks repair BROKEN.tfrecord REPAIRED.tfrecord
"""
from __future__ import annotations

import argparse
import struct
import sys
from typing import Iterable, Iterator, List, Optional, Tuple

import google_crc32c
import tensorflow as tf

from yt8m_tfx.command_line import UserError

HEADER_BYTES = 12   # uint64 length + uint32 masked crc of the length
FOOTER_BYTES = 4    # uint32 masked crc of the data


class InputDataError(UserError):
    """Input shards the pipeline cannot use (missing, damaged, unlabelled, of no or of mixed releases)."""


def masked_crc32c(data: bytes) -> int:
    """TFRecord's checksum: CRC32C rotated right by 15 bits plus a constant (as in TensorFlow's crc32c::Mask)."""
    crc = google_crc32c.value(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def walk_tfrecord(path: str, verify_crc: bool = True) -> Iterator[Tuple[int, int, Optional[bytes], Optional[str]]]:
    """(record index, byte offset, data or None, problem or None) for each record.

    A bad data checksum loses only that record (the walk goes on); a bad or truncated length header loses
    the framing, so it is the last thing yielded. Without verify_crc the data is skipped, not read.
    """
    size = tf.io.gfile.stat(path).length
    offset = index = 0
    with tf.io.gfile.GFile(path, "rb") as f:
        while offset < size:
            if size - offset < HEADER_BYTES:
                yield index, offset, None, f"truncated record header at byte {offset} (after {index} records)"
                return
            f.seek(offset)
            header = f.read(HEADER_BYTES)
            (length,) = struct.unpack("<Q", header[:8])
            if verify_crc and struct.unpack("<I", header[8:])[0] != masked_crc32c(header[:8]):
                yield index, offset, None, (f"record {index} at byte {offset}: corrupted length header "
                                            f"(checksum mismatch); the rest of the file cannot be read")
                return
            end = offset + HEADER_BYTES + length + FOOTER_BYTES
            if end > size:
                yield index, offset, None, (f"record {index} at byte {offset} claims {length} bytes but the file "
                                            f"ends at {size} (truncated download?)")
                return
            data = problem = None
            if verify_crc:
                body = f.read(length + FOOTER_BYTES)
                data = body[:length]
                if struct.unpack("<I", body[length:])[0] != masked_crc32c(data):
                    problem = f"record {index} at byte {offset}: data checksum mismatch (corrupted bytes)"
            yield index, offset, data, problem
            offset, index = end, index + 1


def scan_tfrecord(path: str, verify_crc: bool = True) -> Tuple[int, Optional[str]]:
    """(records, None) for a whole file of intact records, else (records before the first problem, problem)."""
    records = 0
    for index, _, _, problem in walk_tfrecord(path, verify_crc):
        if problem:
            return index, problem
        records = index + 1
    return records, None


def repair_tfrecord(source: str, destination: str) -> Tuple[int, List[str]]:
    """Copies the intact records of source to destination; (records kept, problems of the dropped ones)."""
    kept, problems = 0, []
    with tf.io.TFRecordWriter(destination) as writer:
        for _, _, data, problem in walk_tfrecord(source, verify_crc=True):
            if problem:
                problems.append(problem)
            else:
                writer.write(data)
                kept += 1
    return kept, problems


def tfrecord_problem(path: str, verify_crc: bool = True) -> str | None:
    """None when the file is a whole number of intact records, else what is wrong with it."""
    return scan_tfrecord(path, verify_crc)[1]


def check_shards(patterns: Iterable[str]) -> List[str]:
    """Every file matching each pattern; raises InputDataError naming empty patterns and bad files."""
    problems, files = [], []
    for pattern in patterns:
        matched = sorted(tf.io.gfile.glob(pattern))
        if not matched:
            problems.append(f"no file matches {pattern!r}")
        for path in matched:
            error = tfrecord_problem(path)
            if error:
                problems.append(f"{path}: {error}")
        files.extend(matched)
    if problems:
        if any("checksum" in problem for problem in problems):
            problems.append("to keep the intact records of a damaged shard: "
                            "python -m pipeline.data_checks repair BROKEN.tfrecord REPAIRED.tfrecord")
        raise InputDataError("Input data problems:\n  " + "\n  ".join(problems))
    return files


def first_record_features(path: str, frame_level: bool):
    """Feature names of the file's first tf.Example (frame-level: SequenceExample context and feature lists);
    None when the file is empty."""
    for record in tf.data.TFRecordDataset([path]).take(1):
        if frame_level:
            example = tf.train.SequenceExample.FromString(record.numpy())
            return set(example.context.feature) | set(example.feature_lists.feature_list)
        return set(tf.train.Example.FromString(record.numpy()).features.feature)
    return None


def release_of_features(names, where: str, frame_level: bool = False) -> str:
    """The release (yt8m_tfx.features.RELEASES) whose video id feature and every feature at the level are among
    `names`: 2016 and 2017 share `video_id` and differ in their embeddings."""
    from yt8m_tfx import features
    level = "frame-level" if frame_level else "video-level"
    found = [release.name for release in features.releases_matching(names, names, frame_level)]
    if len(found) != 1:
        expected = "; ".join(f"{r.name}: {', '.join([r.id_key, *r.feature_sizes(frame_level)])}"
                             for r in features.RELEASES.values())
        raise InputDataError(f"{where} matches {'no' if not found else 'more than one'} YouTube-8M release as "
                             f"{level} data: its first record has {', '.join(sorted(names))}; expected one of "
                             f"({expected})")
    return found[0]


def detect_dataset(patterns, frame_level: bool, requested: str | None = None) -> str:
    """The release (--dataset value) of the data: from the first record of the first file of each pattern
    (train, eval, inference), which must agree with each other and with `requested` when given."""
    found = {}
    for pattern in patterns:
        matched = sorted(tf.io.gfile.glob(pattern))
        names = first_record_features(matched[0], frame_level) if matched else None
        if names is not None:
            found[pattern] = release_of_features(names, f"{matched[0]} (from {pattern!r})", frame_level)
    releases = sorted(set(found.values()))
    if len(releases) > 1:
        raise InputDataError("input data mixes YouTube-8M releases: " + ", ".join(
            f"{pattern!r} is {release}" for pattern, release in found.items()))
    if requested and releases and releases[0] != requested:
        raise InputDataError(f"--dataset={requested} but the data is {releases[0]} (its records' video id and "
                             f"features); drop --dataset to detect it")
    from yt8m_tfx import features
    return releases[0] if releases else (requested or features.DEFAULT_DATASET)


def first_record_has_labels(path: str, frame_level: bool) -> bool:
    """Whether the file's first tf.Example (frame-level: SequenceExample context) has a `labels` feature; Kaggle
    test shards have none."""
    from yt8m_tfx import features
    return features.LABELS_KEY in (first_record_features(path, frame_level) or ())


def check_labelled(patterns: Iterable[str], frame_level: bool) -> None:
    """Training and evaluation need labels: a label-less (test) shard there is an InputDataError naming it.
    Checks the first file of each pattern (shards of one set are labelled alike)."""
    for pattern in patterns:
        matched = sorted(tf.io.gfile.glob(pattern))
        if matched and not first_record_has_labels(matched[0], frame_level):
            raise InputDataError(f"{matched[0]} (from {pattern!r}) has no 'labels': training and evaluation "
                                 "need labelled videos; label-less shards (e.g. Kaggle test) belong in "
                                 "--inference_data_pattern")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m pipeline.data_checks",
                                description="check TFRecord shards, or write a copy without the bad records")
    commands = p.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check", help="framing and checksums of every file matching the patterns")
    check.add_argument("patterns", nargs="+")
    repair = commands.add_parser("repair", help="copy the intact records of a damaged shard")
    repair.add_argument("source")
    repair.add_argument("destination")
    args = p.parse_args(argv)
    if args.command == "check":
        try:
            files = check_shards(args.patterns)
        except InputDataError as error:
            print(error, file=sys.stderr)
            return 1
        print(f"{len(files)} files: every record intact")
        return 0
    kept, problems = repair_tfrecord(args.source, args.destination)
    for problem in problems:
        print(f"dropped: {problem}")
    print(f"{args.destination}: {kept} records kept, {len(problems)} dropped"
          + (" (plus everything after a corrupted header)" if any("cannot be read" in m for m in problems) else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
