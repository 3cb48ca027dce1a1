"""A hash of the project code a component runs, passed as an execution property.

Transform and Trainer reference their code by module path, which TFX cannot fingerprint, so without
this an edited preprocessing_fn or model would be served stale from the cache. Putting the hash in
the component's custom_config makes a code change invalidate exactly the components that run it.
"""
from __future__ import annotations

import hashlib
import os
from typing import Iterable

PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CUSTOM_CONFIG_KEY = "code_fingerprint"


def fingerprint(packages: Iterable[str], project_root: str = PROJECT_ROOT) -> str:
    """sha256 over the path and content of every .py file in the given top-level packages."""
    digest = hashlib.sha256()
    for package in sorted(packages):
        root = os.path.join(project_root, package)
        for folder, subdirs, files in os.walk(root):
            subdirs[:] = sorted(d for d in subdirs if d != "__pycache__")
            for name in sorted(f for f in files if f.endswith(".py")):
                path = os.path.join(folder, name)
                digest.update(os.path.relpath(path, project_root).encode())
                with open(path, "rb") as f:
                    digest.update(f.read())
    return digest.hexdigest()[:16]
