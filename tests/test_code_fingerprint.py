from pipeline.code_fingerprint import fingerprint


def test_fingerprint_changes_only_with_the_packages_it_covers(tmp_path):
    for package in ("trainer", "transform"):
        (tmp_path / package / "sub").mkdir(parents=True)
        (tmp_path / package / "sub" / "m.py").write_text("x = 1\n")
    (tmp_path / "trainer" / "sub" / "__pycache__").mkdir()
    before = fingerprint(["trainer"], str(tmp_path))
    assert fingerprint(["trainer"], str(tmp_path)) == before
    (tmp_path / "transform" / "sub" / "m.py").write_text("x = 2\n")
    (tmp_path / "trainer" / "sub" / "__pycache__" / "m.pyc").write_bytes(b"\0")
    (tmp_path / "trainer" / "notes.txt").write_text("not code")
    assert fingerprint(["trainer"], str(tmp_path)) == before
    (tmp_path / "trainer" / "sub" / "m.py").write_text("x = 3\n")
    assert fingerprint(["trainer"], str(tmp_path)) != before
