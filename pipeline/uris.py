"""Paths that may be local files or filesystem URIs (gs://, s3://, hdfs://): one place that knows the
difference. os.path.abspath would turn gs://b/x into <cwd>/gs:/b/x, so every path flag goes through here."""
from __future__ import annotations

import os
import posixpath
from typing import Tuple


def is_uri(path: str) -> bool:
    """True for scheme://... (gs, s3, hdfs, file...): left as is, joined with '/'."""
    return "://" in path


def absolute(path: str) -> str:
    """A local path made absolute (runs and the MLMD store must not depend on the working directory);
    a URI unchanged."""
    return path if is_uri(path) else os.path.abspath(path)


def join(base: str, *parts: str) -> str:
    return posixpath.join(base, *parts) if is_uri(base) else os.path.join(base, *parts)


def split_pattern(pattern: str) -> Tuple[str, str]:
    """'<folder>/<file glob>' -> (absolute folder or URI folder, file glob), e.g. for ExampleGen's input_base."""
    pattern = absolute(pattern)
    folder, name = posixpath.split(pattern) if is_uri(pattern) else os.path.split(pattern)
    if any(c in folder for c in "*?["):
        raise ValueError(f"wildcards are only supported in the file name part of a data pattern: {pattern!r}")
    return folder, name
