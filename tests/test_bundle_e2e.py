"""The bundled CLI as the Jenkins step delivers it: Base64 from resources/ → file → system `python3 -I`, with no
installed packages, against the real Docker stack: a deploy and a rollback succeed."""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path

import pytest

from site_under_test import SECRET, Site

BUNDLE = Path(__file__).resolve().parents[1] / "resources" / "bluegreen" / "bluegreen.pyz"
SYSTEM_PYTHON = Path("/usr/bin/python3")


@pytest.fixture
def cli(tmp_path):
    """The bundle written the way writeFile(encoding: 'Base64') writes it: no executable bit."""
    encoded = base64.b64encode(BUNDLE.read_bytes()).decode()  # libraryResource(encoding: 'Base64')
    target = tmp_path / "agent-tmp" / "bluegreen.pyz"
    target.parent.mkdir()
    target.write_bytes(base64.b64decode(encoded))
    return target


def run(cli: Path, site: Site, tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    """System python, isolated (-I: no user site, no PYTHON* variables), a minimal environment like an agent's."""
    base = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "BLUEGREEN_CONFIG": str(site.config_path),
            "BLUEGREEN_LANG": "en", "DATABASE_URL": SECRET}
    return subprocess.run([str(SYSTEM_PYTHON), "-I", str(cli), *args], env={**base, **env}, text=True,
                          capture_output=True, timeout=120)


def test_system_python_has_no_bluegreen_dependencies():
    """The agent's python3 has none of the bundled libraries installed (so the bundle alone must carry them)."""
    probe = subprocess.run([str(SYSTEM_PYTHON), "-I", "-c", "import docker"], capture_output=True)
    assert probe.returncode != 0


def test_bundle_deploys_and_rolls_back(stack, tmp_path, cli):
    """deploy v1, deploy v2 and rollback through the bundle, as blueGreenDeploy/blueGreenRollback run it."""
    site = Site(stack, tmp_path)
    report = tmp_path / "report.json"
    for tag in ("v1", "v2"):
        result = run(cli, site, tmp_path, "deploy", "backend", "--report", str(report), APP_TAG=tag)
        assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(report.read_text())["description"] == "blue → green · app:v2"
    result = run(cli, site, tmp_path, "rollback", "backend", "--report", str(report))
    assert result.returncode == 0, result.stdout + result.stderr
    doc = json.loads(report.read_text())
    assert doc["action"] == "rollback" and doc["to"] == "blue" and doc["result"] == "success"
    code, status = site.status()
    assert code == 0 and status["active"] == "blue"
    bindings = run(cli, site, tmp_path, "credentials", "backend")
    assert json.loads(bindings.stdout)["bindings"][0]["variable"] == "DATABASE_URL"
