"""Fixtures shared by the in-process CLI tests."""

from __future__ import annotations

import os

import pytest


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A fresh directory (the current one) with an empty state directory, and an environment without BLUEGREEN_*
    (English messages); the test writes its bluegreen.yml."""
    for name in [n for n in os.environ if n.startswith("BLUEGREEN_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("BLUEGREEN_LANG", "en")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "state").mkdir(mode=0o755)
    return tmp_path
