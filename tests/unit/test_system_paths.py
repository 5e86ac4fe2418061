"""What `doctor` and a deploy's first checks read of a directory (parts/system.py path_facts): lstat, never
followed, never created."""

from __future__ import annotations

import os

from bluegreen.parts.system import path_facts


def test_a_directory_a_file_a_link_an_unreadable_and_a_missing_path_are_told_apart(tmp_path):
    (tmp_path / "dir").mkdir(mode=0o700)
    (tmp_path / "file").write_text("x")
    os.symlink(tmp_path / "dir", tmp_path / "link")
    assert path_facts(str(tmp_path / "dir")).kind == "directory"
    assert path_facts(str(tmp_path / "file")).kind == "regular file"
    assert path_facts(str(tmp_path / "link")).kind == "symbolic link"
    assert path_facts(str(tmp_path / "file" / "state")).kind == "path that cannot be read (Not a directory)"
    missing = path_facts(str(tmp_path / "missing" / "state"))
    assert not missing.exists and missing.free is not None  # the room of the nearest existing parent
    assert not (tmp_path / "missing").exists()
