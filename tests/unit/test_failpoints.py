"""failpoints: unset costs nothing and does nothing; `:pause` waits on a marker until it is removed, bounded."""

from __future__ import annotations

import threading
import time

import pytest

from bluegreen import failpoints
from helpers import wait_until


@pytest.fixture(autouse=True)
def fresh(monkeypatch, tmp_path):
    monkeypatch.setattr(failpoints, "_reached", failpoints.Counter())
    monkeypatch.setenv("BLUEGREEN_FAILPOINT_DIR", str(tmp_path))
    monkeypatch.delenv("BLUEGREEN_FAILPOINT", raising=False)


def test_unset_does_nothing(tmp_path):
    failpoints.reach("deploy.locked")
    assert list(tmp_path.iterdir()) == []


def test_pause_waits_until_the_marker_is_removed(monkeypatch, tmp_path):
    monkeypatch.setenv("BLUEGREEN_FAILPOINT", "deploy.switched:pause")
    marker = tmp_path / "deploy.switched.paused"
    done = threading.Event()
    thread = threading.Thread(target=lambda: (failpoints.reach("deploy.switched"), done.set()))
    thread.start()
    wait_until(marker.exists, 5.0, "the pause marker", interval=0.01)
    assert marker.read_text().strip().isdigit()  # the pid
    assert not done.wait(0.2)  # still paused
    marker.unlink()
    assert done.wait(5)
    thread.join(5)


def test_pause_counts_reaches_and_ignores_other_names(monkeypatch, tmp_path):
    monkeypatch.setenv("BLUEGREEN_FAILPOINT", "nginx.installed#2:pause")
    monkeypatch.setenv("BLUEGREEN_FAILPOINT_TIMEOUT", "0.1")
    failpoints.reach("nginx.installed")  # the first: no pause
    failpoints.reach("deploy.locked")
    assert list(tmp_path.iterdir()) == []
    started = time.monotonic()
    failpoints.reach("nginx.installed")  # the second: pauses, nobody removes the marker, the bound ends it
    assert 0.1 <= time.monotonic() - started < 2
    assert list(tmp_path.iterdir()) == []  # the marker is gone after the bound


def test_kill_is_still_the_default(monkeypatch):
    killed = []
    monkeypatch.setenv("BLUEGREEN_FAILPOINT", "deploy.locked")
    monkeypatch.setattr(failpoints.os, "kill", lambda pid, sig: killed.append(sig))
    failpoints.reach("deploy.locked")
    assert killed == [failpoints.signal.SIGKILL]
