"""A full (or read-only) state directory: the failed write names its file, leaves no temporary behind, and the
operator gets one line with the file and what to do (exit 3), not an "internal error"."""

from __future__ import annotations

import errno
import os

import pytest

from bluegreen import cli
from bluegreen.errors import exit_code_for
from bluegreen.parts.state import ServiceState, StateDir

NO_SPACE = OSError(errno.ENOSPC, "No space left on device")


@pytest.fixture
def full_disk(monkeypatch):
    def write(fd: int, data: bytes) -> int:
        raise NO_SPACE

    monkeypatch.setattr(os, "write", write)


def test_a_state_save_on_a_full_disk_names_the_file_and_leaves_no_temporary(tmp_path, full_disk):
    state = StateDir(tmp_path, "backend")
    with pytest.raises(OSError) as failed:
        state.save(ServiceState(None, {}, {}, [], None, None))
    assert failed.value.errno == errno.ENOSPC and failed.value.filename.endswith("state.json")
    assert exit_code_for(failed.value) == 3
    assert [p.name for p in tmp_path.rglob("*") if p.is_file() and ".tmp" in p.name] == []


def test_a_history_record_on_a_full_disk_names_the_file(tmp_path, full_disk):
    with pytest.raises(OSError) as failed:
        StateDir(tmp_path, "backend").record({"action": "deploy"})
    assert failed.value.filename.endswith("history.jsonl") and exit_code_for(failed.value) == 3


def test_the_operator_gets_one_line_with_the_file_and_exit_3(monkeypatch, capsys):
    def load(path):
        raise OSError(errno.ENOSPC, "No space left on device", "/var/lib/bluegreen/backend/state.json")

    monkeypatch.setattr("bluegreen.config.load", load)
    with pytest.raises(SystemExit) as exited:
        cli.main(["--lang", "en", "config", "check"])
    err = capsys.readouterr().err
    assert exited.value.code == 3
    assert len(err.splitlines()) == 1 and "internal error" not in err
    assert "/var/lib/bluegreen/backend/state.json" in err and "No space left on device" in err
    assert "bluegreen status" in err


def test_an_oserror_without_a_file_is_still_a_bug():
    assert exit_code_for(OSError(errno.ENOSPC, "No space left on device")) == 1
