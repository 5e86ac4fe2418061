"""The service lock and history: refusal names the holder; a SIGKILLed holder never leaves it stuck."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap

import pytest

import bluegreen
from bluegreen.errors import LockHeld
from bluegreen.parts.state import ServiceState, StateDir, recorded_config

PACKAGE_ROOT = os.path.dirname(os.path.dirname(bluegreen.__file__))


def test_second_holder_is_refused_with_the_holder(tmp_path):
    """While one run holds the lock, another gets LockHeld naming pid, host and command."""
    first, second = StateDir(tmp_path, "backend"), StateDir(tmp_path, "backend")
    first.acquire("deploy backend")
    with pytest.raises(LockHeld) as err:
        second.acquire("rollback backend")
    assert err.value.exit_code == 4
    assert err.value.params["pid"] == os.getpid() and err.value.params["command"] == "deploy backend"
    first.unlock()
    second.acquire("rollback backend")
    second.unlock()


def test_lock_is_per_service(tmp_path):
    """Two services can be deployed at once."""
    a, b = StateDir(tmp_path, "a"), StateDir(tmp_path, "b")
    a.acquire("x")
    b.acquire("y")
    a.unlock()
    b.unlock()


def test_sigkilled_holder_does_not_leave_the_lock_stuck(tmp_path):
    """A holder killed with SIGKILL frees the lock; its record is reported as stale, then taken over."""
    code = textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {PACKAGE_ROOT!r})
        from bluegreen.parts.state import StateDir
        StateDir(__import__('pathlib').Path({str(tmp_path)!r}), 'backend').acquire('deploy backend')
        print('held', flush=True)
        sys.stdin.read()
    """)
    child = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "held"
    state = StateDir(tmp_path, "backend")
    with pytest.raises(LockHeld):
        state.acquire("deploy backend")
    assert state.stale_holder() is None  # alive: not stale
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=10)
    stale = state.stale_holder()
    assert stale and stale["pid"] == child.pid
    state.acquire("deploy backend")
    state.unlock()
    assert state.stale_holder() is None


def test_history_is_newest_first_and_skips_a_torn_line(tmp_path):
    """A run killed mid-write leaves a torn line; history skips it."""
    state = StateDir(tmp_path, "backend")
    state.record({"n": 1})
    state.record({"n": 2})
    with open(tmp_path / "backend.history.jsonl", "a") as f:
        f.write('{"n": 3, "trunc')
    assert [e["n"] for e in state.history()] == [2, 1]
    assert json.loads((tmp_path / "backend.history.jsonl").read_text().splitlines()[0]) == {"n": 1}


def test_the_recorded_config_is_read_without_creating_the_state_directory(tmp_path):
    """init's dry run asks what nginx loaded last: no state_dir → None, and none is made; then the saved text."""
    root = tmp_path / "state"
    assert recorded_config(root, "backend") is None and not root.exists()
    StateDir(root, "backend").save(ServiceState(loaded_config="upstream x { server a:1; }\n"))
    assert recorded_config(root, "backend") == "upstream x { server a:1; }\n"
    assert recorded_config(root, "other") is None
