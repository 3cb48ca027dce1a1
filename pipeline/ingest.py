"""`--ingest=import`: register existing YT8M TFRecord shards as the Examples artifact instead of rewriting them.

ImportExampleGen (`--ingest=copy`, the default) reads every record through Beam, shuffles it into its own GZIP
shards and so re-writes the whole dataset (bench/results/scaling.json: the largest per-video cost before
training). The shards the dataset ships already are what the downstream components read — TFRecords of
tf.Example / tf.SequenceExample — only laid out differently: TFX components read `<examples uri>/Split-<name>/*`.
ShardImporter fills those folders with links to the original files (local filesystems: symlinks, no bytes
copied; `gs://` / `s3://`: a filesystem copy, which object stores do server-side without passing the data
through Beam). Readers detect compression from the file name, so uncompressed `.tfrecord` shards stay
readable. The TFX cache keys on `files_fingerprint` (path, size and modification time of every matched
file), so a changed, added or removed shard re-runs the data stages.

No `from __future__ import annotations` here: the @component decorator reads real type hints.
"""
import hashlib
import json
import os
from typing import Dict, List

import tensorflow as tf
from tfx import v1 as tfx

from pipeline import uris

# The Examples artifact's custom property TFX readers take the record type from (what ExampleGen sets).
PAYLOAD_FORMAT_PROPERTY = "payload_format"


def matched_files(split_patterns: Dict[str, str]) -> Dict[str, List[str]]:
    """{split: sorted files}; a pattern matching nothing is an error naming it."""
    files = {split: sorted(tf.io.gfile.glob(pattern)) for split, pattern in split_patterns.items()}
    empty = [pattern for split, pattern in split_patterns.items() if not files[split]]
    if empty:
        raise ValueError(f"--ingest=import: no file matches {empty}")
    return files


def files_fingerprint(split_patterns: Dict[str, str]) -> str:
    """A hash of (split, path, size, mtime) of every matched file: the data's identity for the TFX cache."""
    digest = hashlib.sha256()
    for split, paths in sorted(matched_files(split_patterns).items()):
        for path in paths:
            stat = tf.io.gfile.stat(path)
            digest.update(f"{split}\0{path}\0{stat.length}\0{stat.mtime_nsec}\n".encode())
    return digest.hexdigest()[:16]


def link_split(files: List[str], split_dir: str) -> None:
    """split_dir/<NNNNN>-<file name> for each file: a symlink for local files, else a filesystem copy. The
    index keeps names unique when two folders hold files of the same name."""
    tf.io.gfile.makedirs(split_dir)
    for index, path in enumerate(files):
        target = uris.join(split_dir, f"{index:05d}-{os.path.basename(path)}")
        if uris.is_uri(path) or uris.is_uri(split_dir):
            tf.io.gfile.copy(path, target, overwrite=True)
        else:
            os.symlink(os.path.abspath(path), target)


@tfx.dsl.components.component
def ShardImporter(
        examples: tfx.dsl.components.OutputArtifact[tfx.types.standard_artifacts.Examples],
        split_patterns: tfx.dsl.components.Parameter[str],
        payload_format: tfx.dsl.components.Parameter[str],
        files_fingerprint: tfx.dsl.components.Parameter[str],
        code_fingerprint: tfx.dsl.components.Parameter[str] = "",
):
    """split_patterns: JSON {split name: file glob}; payload_format: "FORMAT_TF_EXAMPLE" or
    "FORMAT_TF_SEQUENCE_EXAMPLE"; files_fingerprint and code_fingerprint (yt8m_tfx.code_fingerprint): only
    for the cache key (see files_fingerprint())."""
    del files_fingerprint, code_fingerprint
    files = matched_files(json.loads(split_patterns))
    for split, paths in files.items():
        link_split(paths, uris.join(examples.uri, f"Split-{split}"))
    examples.split_names = json.dumps(sorted(files))
    examples.set_string_custom_property(PAYLOAD_FORMAT_PROPERTY, payload_format)
