"""A full (or read-only) state directory: the failed write names its file, leaves no temporary behind, and the
operator gets one line with the file and what to do (exit 3), not an "internal error"."""

from __future__ import annotations

import errno
import json
import os

import pytest

from bluegreen.cli import app as cli
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


# --- short writes (issue 21 §6): a near-full disk may write part of a buffer and return its length ---
@pytest.fixture
def short_writes(monkeypatch):
    """os.write and os.pwrite write at most 7 bytes a call, as a disk with a few blocks left may."""
    real_write, real_pwrite = os.write, os.pwrite
    monkeypatch.setattr(os, "write", lambda fd, data: real_write(fd, bytes(data[:7])))
    monkeypatch.setattr(os, "pwrite", lambda fd, data, offset: real_pwrite(fd, bytes(data[:7]), offset))


def test_a_short_write_is_finished_not_fsynced_truncated(tmp_path, short_writes, monkeypatch):
    """state.json, a history line and the lock's holder are written whole however little each write takes."""
    state = StateDir(tmp_path, "backend")
    saved = ServiceState("upstream backend { server app-blue:8000; }\n", {"blue": "abc123"}, {"blue": "app:1"},
                         ["7", "8"], None, None)
    state.save(saved)
    state.record({"action": "deploy", "reason": "x" * 100})
    state.acquire("deploy backend")
    monkeypatch.undo()
    assert StateDir(tmp_path, "backend").load() == saved
    assert [e["reason"] for e in StateDir(tmp_path, "backend").history()] == ["x" * 100]
    assert json.loads((tmp_path / "backend.lock").read_text())["command"] == "deploy backend"
    state.unlock()


def test_a_write_that_makes_no_progress_is_a_full_disk_naming_the_file(tmp_path, monkeypatch):
    """A write that returns 0 would loop forever: it is ENOSPC, naming the file, and no temporary is left."""
    state = StateDir(tmp_path, "backend")
    monkeypatch.setattr(os, "write", lambda fd, data: 0)
    with pytest.raises(OSError) as failed:
        state.save(ServiceState(None, {}, {}, [], None, None))
    assert failed.value.errno == errno.ENOSPC and failed.value.filename.endswith("state.json")
    assert [p.name for p in tmp_path.iterdir() if ".tmp" in p.name] == []


def test_the_lock_on_a_full_disk_names_its_file_and_is_not_held(tmp_path, monkeypatch):
    """Writing the holder fails (ENOSPC): exit 3 naming the lock file, and the lock is free for the next run."""
    state = StateDir(tmp_path, "backend")
    real_pwrite = os.pwrite
    monkeypatch.setattr(os, "pwrite", lambda fd, data, offset: (_ for _ in ()).throw(NO_SPACE))
    with pytest.raises(OSError) as failed:
        state.acquire("deploy backend")
    assert failed.value.filename.endswith("backend.lock") and exit_code_for(failed.value) == 3
    monkeypatch.setattr(os, "pwrite", real_pwrite)
    other = StateDir(tmp_path, "backend")
    other.acquire("rollback backend")
    other.unlock()


def test_a_short_write_of_the_report_is_finished(tmp_path, short_writes):
    """--report: the JSON document is written whole."""
    from bluegreen.cli.options import emit
    from bluegreen.commands import Options
    from bluegreen.cli.report_file import open_report

    report = open_report(str(tmp_path / "report.json"))
    doc = {"service": "backend", "result": "success", "reason": "y" * 300}
    emit(doc, Options(None, "en"), report)
    assert json.loads((tmp_path / "report.json").read_text()) == doc


# --- state_dir removed under a running command (rm -rf by a cleanup job): not a bug either ---
def test_a_state_dir_removed_under_the_run_is_a_storage_failure_naming_the_file(tmp_path):
    """Saving the state, recording history or taking the lock after state_dir was removed: ENOENT, naming the
    bluegreen file (never the temporary), exit 3 — not an "internal error" (exit 1)."""
    root = tmp_path / "state"
    state = StateDir(root, "backend")
    root.rmdir()
    for write, name in ((lambda: state.save(ServiceState(None, {}, {}, [], None, None)), "backend.state.json"),
                        (lambda: state.record({"action": "deploy"}), "backend.history.jsonl"),
                        (lambda: state.acquire("deploy backend"), "backend.lock")):
        with pytest.raises(OSError) as failed:
            write()
        assert failed.value.errno == errno.ENOENT and failed.value.filename == str(root / name)
        assert exit_code_for(failed.value) == 3
