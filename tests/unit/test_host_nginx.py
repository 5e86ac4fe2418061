"""parts/host_nginx.py: nginx's file read and swapped from the host through /proc/<pid>/root, never through a
symbolic link (a link in a container resolves against the host's root from here), and nothing signalled that is
not an nginx master. Run against this process's own /proc entry (its root is the host's /)."""

from __future__ import annotations

import os
import signal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bluegreen.parts import host_nginx

ME = os.getpid()


def test_read_and_install_a_plain_file(tmp_path):
    target = tmp_path / "conf.d" / "up.conf"
    target.parent.mkdir()
    target.write_bytes(b"old\n")
    assert host_nginx.read_file(ME, str(target)) == b"old\n"
    host_nginx.install(ME, str(target), b"new\n", backup=b"old\n")
    assert target.read_bytes() == b"new\n" and (target.parent / "up.conf.backup").read_bytes() == b"old\n"
    assert sorted(p.name for p in target.parent.iterdir()) == ["up.conf", "up.conf.backup"]  # no temporary left
    assert oct(target.stat().st_mode & 0o777) == "0o644"


@pytest.mark.parametrize("still", [True, False])
def test_the_last_check_comes_after_the_writes_and_before_the_renames(tmp_path, still):
    """`still` is asked when both files are written beside and nothing is renamed yet (the window in which an
    operator's edit could still be overwritten is the renames alone); when it says no, the file and its backup are
    as they were and nothing of ours is left."""
    target = tmp_path / "up.conf"
    target.write_bytes(b"theirs\n")
    (tmp_path / "up.conf.backup").write_bytes(b"older\n")
    seen = []

    def check() -> bool:
        seen.append((sorted(p.name for p in tmp_path.iterdir()), target.read_bytes()))
        return still

    assert host_nginx.install(ME, str(target), b"new\n", backup=b"old\n", still=check) is still
    assert seen == [([".up.conf.backup.bluegreen-tmp", ".up.conf.bluegreen-tmp", "up.conf", "up.conf.backup"],
                     b"theirs\n")]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["up.conf", "up.conf.backup"]
    expected = (b"new\n", b"old\n") if still else (b"theirs\n", b"older\n")
    assert (target.read_bytes(), (tmp_path / "up.conf.backup").read_bytes()) == expected


@pytest.mark.parametrize("link_at", ["file", "directory"])
def test_nothing_is_read_or_written_through_a_link(tmp_path, link_at):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "up.conf").write_bytes(b"not ours\n")
    conf = tmp_path / "conf.d"
    if link_at == "directory":
        conf.symlink_to(elsewhere)
    else:
        conf.mkdir()
        (conf / "up.conf").symlink_to(elsewhere / "up.conf")
    path = str(conf / "up.conf")
    assert host_nginx.read_file(ME, path) is None
    if link_at == "directory":
        with pytest.raises(OSError):
            host_nginx.install(ME, path, b"new\n")
    assert (elsewhere / "up.conf").read_bytes() == b"not ours\n"


segment = st.sampled_from(["", ".", "..", "a", "b", "link", "f"])


@settings(max_examples=200, deadline=None)
@given(st.lists(segment, min_size=1, max_size=5))
def test_no_path_escapes_its_directory(tmp_path_factory, parts):
    """Whatever the path (dots, empty parts, links), a write lands at that path's own name below the root it
    names, or nowhere: never in the directory a link points to."""
    root = tmp_path_factory.mktemp("root")
    outside = tmp_path_factory.mktemp("outside")
    (root / "a").mkdir()
    (root / "a" / "b").mkdir()
    (root / "link").symlink_to(outside)
    path = str(root) + "/" + "/".join(parts)
    try:
        host_nginx.install(ME, path, b"x")
    except OSError:
        pass
    assert list(outside.iterdir()) == []
    written = [p for p in root.rglob("*") if p.is_file() and not p.is_symlink()]
    assert all(p.read_bytes() == b"x" and str(p) == path for p in written)


def test_no_process_but_an_nginx_master_is_signalled():
    hups = []
    previous = signal.signal(signal.SIGHUP, lambda *_: hups.append(1))
    try:
        assert not host_nginx.is_master(ME) and host_nginx.workers(ME) is None
        assert host_nginx.reload(ME, [], timeout=0.1) is None
    finally:
        signal.signal(signal.SIGHUP, previous)
    assert hups == []
