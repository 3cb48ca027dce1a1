"""A component's code fingerprint covers its import closure within the project, and nothing else."""
from yt8m_tfx.code_fingerprint import fingerprint, import_closure


def _tree(root, files):
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_closure_follows_project_imports_including_those_inside_functions(tmp_path):
    _tree(tmp_path, {
        "app/__init__.py": "",
        "app/entry.py": "import os\nfrom app import helper\n\ndef f():\n    from lib.math import gap\n",
        "app/helper.py": "from . import sibling\n",
        "app/sibling.py": "import numpy\n",
        "app/unused.py": "",
        "lib/__init__.py": "from lib import reexported\n",
        "lib/math.py": "",
        "lib/reexported.py": "",
        "other/__init__.py": "",
    })
    assert import_closure(["app.entry"], str(tmp_path)) == [
        "app/__init__.py", "app/entry.py", "app/helper.py", "app/sibling.py",
        "lib/__init__.py", "lib/math.py", "lib/reexported.py"]


def test_fingerprint_changes_with_any_file_of_the_closure_only(tmp_path):
    _tree(tmp_path, {"a/__init__.py": "", "a/m.py": "from b import n\n", "b/__init__.py": "", "b/n.py": "x = 1\n",
                     "b/unrelated.py": "y = 1\n"})
    (tmp_path / "a" / "__pycache__").mkdir()
    before = fingerprint(["a.m"], str(tmp_path))
    assert fingerprint(["a.m"], str(tmp_path)) == before
    (tmp_path / "b" / "unrelated.py").write_text("y = 2\n")
    (tmp_path / "a" / "__pycache__" / "m.pyc").write_bytes(b"\0")
    assert fingerprint(["a.m"], str(tmp_path)) == before
    (tmp_path / "b" / "n.py").write_text("x = 1\n\n")  # one byte, two imports away
    assert fingerprint(["a.m"], str(tmp_path)) != before


def test_each_component_covers_the_code_it_runs():
    trainer = import_closure(["trainer.run_fn"])
    assert "yt8m_tfx/metrics_math.py" in trainer  # keep-best scores exports with the GAP math
    assert "evaluator_ext/tfma_metrics.py" not in trainer
    assert {"transform/preprocessing.py", "trainer/models/video_level.py", "yt8m_tfx/features.py"} <= set(trainer)
    evaluator = import_closure(["evaluator_ext.tfma_metrics"])
    assert {"evaluator_ext/tfma_metrics.py", "yt8m_tfx/metrics_math.py"} <= set(evaluator)
    assert not any(path.startswith("trainer/") for path in evaluator)
    assert "transform/preprocessing.py" in import_closure(["transform.preprocessing"])
    assert "inference/csv_format.py" in import_closure(["inference.components"])
