"""Fixtures for the job-sync tests against the Jenkins stand-in (import them into a test module by name).

`standin` runs in the "recent" mode unless a test module parametrizes it indirectly with
`@pytest.mark.parametrize("standin", MODES, indirect=True)`.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest
import requests
import yaml

from bluegreen.cli.app import main
from jenkins_standin import MODES, Standin

__all__ = ["DISTINCTIVE", "EXAMPLE", "FOLDER", "ITEMS", "MODES", "REPO", "ROLLBACK_SCRIPT", "VALUES", "Result",
           "create_by_hand", "declaration", "edit_declaration", "env", "post_config", "run", "standin"]

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "maice"
ROLLBACK_SCRIPT = REPO / "resources" / "bluegreen" / "Rollback.Jenkinsfile"
FOLDER = "team/maice"
DISTINCTIVE = "sk-DISTINCTIVE-7f3c9e1b-never-print-me"
VALUES = {
    "DATABASE_URL": "postgresql://maice:db-pass-31337@db:5432/maice", "OPENAI_API_KEY": DISTINCTIVE,
    "GOOGLE_CLIENT_ID": "google-client-id-123", "GOOGLE_CLIENT_SECRET": "google-client-secret-456",
    "ADMIN_USERNAME": "admin", "ADMIN_PASSWORD": "admin-password-789", "SESSION_SECRET_KEY": "session-key-0abc",
    "BLUEGREEN_FINGERPRINT_KEY": "fingerprint-key-for-tests-0123456789",
}
ITEMS = 8  # 2 jobs + 6 credentials in the example declaration


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err


@pytest.fixture
def standin(request: pytest.FixtureRequest):
    server = Standin(mode=getattr(request, "param", "recent")).start()
    yield server
    server.stop()


@pytest.fixture
def declaration(tmp_path: Path) -> Path:
    """The example declaration in a nested folder, with a Rollback script (a fixture until the library has one)."""
    shutil.copy(EXAMPLE / "bluegreen.yml", tmp_path / "bluegreen.yml")
    script = tmp_path / "Rollback.Jenkinsfile"
    if ROLLBACK_SCRIPT.exists():
        shutil.copy(ROLLBACK_SCRIPT, script)
    else:
        script.write_text("blueGreenRollback(service: params.SERVICE, reason: params.REASON)\n", encoding="utf-8")
    data = yaml.safe_load((EXAMPLE / "jenkins.yml").read_text(encoding="utf-8"))
    data["folder"] = FOLDER
    data["jobs"][1]["script"] = "Rollback.Jenkinsfile"
    path = tmp_path / "jenkins.yml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, standin: Standin) -> pytest.MonkeyPatch:
    for name in ("BLUEGREEN_LANG", "BLUEGREEN_CONFIG", "PYTHONHTTPSVERIFY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")
    monkeypatch.setenv("JENKINS_URL", standin.url)
    monkeypatch.setenv("JENKINS_USER", "admin")
    monkeypatch.setenv("JENKINS_API_TOKEN", "admin-token")
    for name, value in VALUES.items():
        monkeypatch.setenv(name, value)
    return monkeypatch


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str], declaration: Path, env: pytest.MonkeyPatch):
    def invoke(*args: str) -> Result:
        capsys.readouterr()
        with pytest.raises(SystemExit) as exit_info:
            main(["jenkins", args[0], "--declaration", str(declaration), *args[1:]])
        captured = capsys.readouterr()
        return Result(exit_info.value.code, captured.out, captured.err)
    return invoke


def _admin_session(standin: Standin) -> tuple[requests.Session, dict[str, str], str]:
    session = requests.Session()
    session.auth = ("admin", "admin-token")
    crumb = session.get(standin.url + "crumbIssuer/api/json").json()
    return session, {crumb["crumbRequestField"]: crumb["crumb"], "Content-Type": "text/xml"}, standin.url


def post_config(standin: Standin, job: str, xml: str) -> None:
    """An edit made on the server, the way the UI or a Jenkinsfile run would save it."""
    session, headers, url = _admin_session(standin)
    path = "".join(f"job/{p}/" for p in job.split("/"))
    session.post(url + path + "config.xml", data=xml.encode("utf-8"), headers=headers).raise_for_status()


def create_by_hand(standin: Standin, name: str) -> None:
    """A job someone made in the folder without the tool (no managed marker)."""
    session, headers, url = _admin_session(standin)
    path = "".join(f"job/{p}/" for p in FOLDER.split("/"))
    body = b"<project><description>by hand</description></project>"
    session.post(f"{url}{path}createItem?name={name}", data=body, headers=headers).raise_for_status()




def edit_declaration(path: Path, change: Callable[[dict], None]) -> None:
    """Change the declaration file through its data (change mutates the loaded dict)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
