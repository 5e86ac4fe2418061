"""files.py, the one reader of files named by an operator or a declaration: a file that is not a readable regular
file of bounded size is refused at once, saying why, never read whole or waited on."""

from __future__ import annotations

import errno
import os
import socket
import tempfile
from pathlib import Path

import pytest

from bluegreen.files import Unreadable, read_bounded, write_all
from helpers import at_most


def refused(path, limit: int = 1024, **kwargs) -> Unreadable:
    with at_most(10), pytest.raises(Unreadable) as caught:
        read_bounded(path, limit, **kwargs)
    return caught.value


def test_a_fifo_without_a_writer_is_refused_at_once(tmp_path):
    """A FIFO would block a plain open() forever: refused as a FIFO."""
    os.mkfifo(tmp_path / "fifo")
    assert refused(tmp_path / "fifo").reason == "not a regular file (FIFO)"


def test_dev_zero_is_refused_not_read():
    """/dev/zero never ends: refused as a device, nothing read."""
    assert refused("/dev/zero").reason == "not a regular file (character device)"


def test_a_path_through_a_regular_file_says_not_a_directory(tmp_path):
    (tmp_path / "plain").write_text("x")
    assert refused(tmp_path / "plain" / "x").reason == os.strerror(errno.ENOTDIR)


def test_a_symlink_loop_says_too_many_levels(tmp_path):
    os.symlink(tmp_path / "b", tmp_path / "a")
    os.symlink(tmp_path / "a", tmp_path / "b")
    assert refused(tmp_path / "a").reason == os.strerror(errno.ELOOP)


def test_a_unix_socket_is_refused(tmp_path):
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(str(tmp_path / "sock"))
        assert refused(tmp_path / "sock").reason == "not a regular file (socket)"


def test_a_file_whose_read_fails_says_why():
    """/proc/self/mem opens as a regular file and every read at offset 0 fails (EIO)."""
    assert refused("/proc/self/mem").reason == os.strerror(errno.EIO)


def test_an_unreadable_file_says_permission_denied():
    """A file its reader may not open: EACCES, said as such (as root: read as nobody)."""
    directory = Path(tempfile.mkdtemp(prefix="bgh-files-"))
    try:
        directory.chmod(0o755)
        path = directory / "secret.txt"
        path.write_text("x")
        path.chmod(0o000)
        if os.geteuid() == 0:
            os.seteuid(65534)
        try:
            assert refused(path).reason == os.strerror(errno.EACCES)
        finally:
            if os.getuid() == 0:
                os.seteuid(0)
    finally:
        (directory / "secret.txt").unlink()
        directory.rmdir()


def test_a_missing_file_and_a_file_too_large(tmp_path):
    assert refused(tmp_path / "nope").why == "missing"
    (tmp_path / "big").write_bytes(b"x" * 1025)
    assert refused(tmp_path / "big").reason == "larger than 1024 bytes"
    (tmp_path / "ok").write_bytes(b"x" * 1024)
    assert read_bounded(tmp_path / "ok", 1024) == b"x" * 1024


def test_a_proc_file_that_says_size_0_is_read_to_its_end():
    """A /proc file's size is 0 yet it has content: read until EOF (bounded), not by its size."""
    assert b"Name:" in read_bounded("/proc/self/status", 64 * 1024)


def test_a_private_file_is_checked_on_what_is_read(tmp_path):
    """`private`: the mode checked is the file's behind a symlink (fstat of the descriptor read)."""
    (tmp_path / "token").write_text("t")
    (tmp_path / "token").chmod(0o644)
    os.symlink(tmp_path / "token", tmp_path / "link")
    assert refused(tmp_path / "link", private=True).reason == "group or others may access it (mode 0o644)"
    (tmp_path / "token").chmod(0o600)
    assert read_bounded(tmp_path / "link", 1024, private=True) == b"t"


def test_write_all_finishes_short_writes_and_refuses_no_progress(tmp_path, monkeypatch):
    """Short writes are continued where they stopped; a write that writes nothing is ENOSPC."""
    real = os.write
    monkeypatch.setattr(os, "write", lambda fd, data: real(fd, bytes(data[:3])))
    fd = os.open(tmp_path / "f", os.O_WRONLY | os.O_CREAT)
    try:
        write_all(fd, b"0123456789" * 10)
        monkeypatch.setattr(os, "write", lambda fd, data: 0)
        with pytest.raises(OSError) as failed:
            write_all(fd, b"more")
        assert failed.value.errno == errno.ENOSPC
    finally:
        os.close(fd)
    assert (tmp_path / "f").read_bytes() == b"0123456789" * 10
