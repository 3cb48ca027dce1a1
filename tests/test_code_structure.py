"""The code's shape, checked: imports point down the layers only, so each layer can be read, tested and changed
without the ones above (yt8m_tfx < cluster < transform < trainer < inference < evaluator_ext < pipeline <
runners < bench), and no product function is longer than a screen (60 lines)."""
import ast
import glob
import os

from tests.conftest import PROJECT_ROOT

LAYERS = ["yt8m_tfx", "cluster", "transform", "trainer", "inference", "evaluator_ext", "pipeline", "runners",
          "bench"]
RUNNERS = ("local_runner", "kubeflow_runner")


def _layer(module: str):
    top = module.split(".")[0]
    return "runners" if top in RUNNERS else top if top in LAYERS else None


def _project_files():
    """(path relative to the project, its layer) of every Python file of the layers."""
    for path in glob.glob(os.path.join(PROJECT_ROOT, "**", "*.py"), recursive=True):
        relative = os.path.relpath(path, PROJECT_ROOT)
        layer = _layer(relative[:-3].replace(os.sep, "."))
        if not relative.startswith((".venv", "tests")) and layer is not None:
            yield relative, layer


def _upward_imports():
    for relative, layer in _project_files():
        for node in ast.walk(ast.parse(open(os.path.join(PROJECT_ROOT, relative)).read())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module] if isinstance(node, ast.ImportFrom) and node.module and not node.level else [])
            for name in names:
                if _layer(name) and LAYERS.index(_layer(name)) > LAYERS.index(layer):
                    yield f"{relative}:{node.lineno} ({layer}) imports {name} ({_layer(name)})"


def test_no_import_points_up_the_layers():
    assert list(_upward_imports()) == []


def test_no_product_function_is_over_60_lines():
    long = []
    for relative, layer in _project_files():
        if layer == "bench":
            continue
        for node in ast.walk(ast.parse(open(os.path.join(PROJECT_ROOT, relative)).read())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno - node.lineno >= 60:
                long.append(f"{relative}:{node.lineno} {node.name} ({node.end_lineno - node.lineno + 1} lines)")
    assert long == []
