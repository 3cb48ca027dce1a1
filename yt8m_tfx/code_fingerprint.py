"""A hash of the project code a component runs, for its cache key.

Transform, the Tuner, the Trainer, the Evaluator's metric plugin and the custom components reference
project code by module path, which TFX cannot fingerprint: without this an edited preprocessing_fn,
model or metric would be served stale from the cache. A component's fingerprint covers every project
file its entry module imports, directly or through other project modules (its import closure, read from
the source, imports inside functions included), so a new import can never be left out of a hand-kept list.
"""
from __future__ import annotations

import ast
import hashlib
import os
from typing import Iterable, List, Optional, Set

PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The custom_config / parameter name that carries the hash; the components' code ignores it.
CUSTOM_CONFIG_KEY = "code_fingerprint"


def module_file(module: str, project_root: str = PROJECT_ROOT) -> Optional[str]:
    """The project file defining `module` ("trainer.run_fn" -> trainer/run_fn.py), or None outside it."""
    base = os.path.join(project_root, *module.split("."))
    for candidate in (os.path.join(base, "__init__.py"), base + ".py"):
        if os.path.isfile(candidate):
            return candidate
    return None


def _package_of(module: str, path: str) -> str:
    return module if path.endswith("__init__.py") else module.rpartition(".")[0]


def imported_modules(path: str, module: str) -> Set[str]:
    """Absolute names of every module `path` imports anywhere in its body; `from a import b` names both
    `a` and `a.b` (b may be a submodule)."""
    with open(path, "rb") as f:
        tree = ast.parse(f.read(), filename=path)
    names: Set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolved against this module's package
                package = _package_of(module, path).split(".")
                parent = package[:len(package) - node.level + 1]
                base = ".".join(parent + ([base] if base else []))
            if base:
                names.add(base)
            names.update(f"{base}.{alias.name}" if base else alias.name for alias in node.names)
    return names


def import_closure(modules: Iterable[str], project_root: str = PROJECT_ROOT) -> List[str]:
    """Project files (relative, sorted) that importing `modules` executes: each module, the packages'
    __init__ files on the way, and everything they import from the project in turn."""
    seen: Set[str] = set()
    files: Set[str] = set()
    pending = list(modules)
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        parts = name.split(".")
        pending.extend(".".join(parts[:i]) for i in range(1, len(parts)))  # parents run their __init__
        path = module_file(name, project_root)
        if path is None:
            continue  # not project code (tensorflow, tfx, ...) or a name imported from a module
        files.add(os.path.relpath(path, project_root))
        pending.extend(imported_modules(path, name) - seen)
    return sorted(files)


def fingerprint(modules: Iterable[str], project_root: str = PROJECT_ROOT) -> str:
    """sha256 over the relative path and content of every file in the modules' import closure."""
    digest = hashlib.sha256()
    for relative in import_closure(modules, project_root):
        digest.update(relative.encode() + b"\0")
        with open(os.path.join(project_root, relative), "rb") as f:
            digest.update(f.read())
    return digest.hexdigest()[:16]


def module_of(function_path: str) -> str:
    """"trainer.run_fn.run_fn" -> "trainer.run_fn" (TFX's module paths name a function)."""
    return function_path.rpartition(".")[0]
