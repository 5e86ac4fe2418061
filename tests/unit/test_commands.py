"""Read-only commands: the credential bindings for Jenkins, masking of secrets in operator output."""

from __future__ import annotations

import io
from pathlib import Path

from bluegreen import config
from bluegreen.commands import credential_bindings
from bluegreen.output import Reporter

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "maice" / "bluegreen.yml"


def test_bindings_group_username_password_credentials():
    """ADMIN_USERNAME/ADMIN_PASSWORD share one usernamePassword binding; literals get none."""
    cfg = config.load(EXAMPLE)
    doc = credential_bindings(cfg.service("backend"), state_dir=cfg.state_dir)
    by_id = {b["credentialsId"]: b for b in doc["bindings"]}
    assert by_id["maice-admin"] == {"type": "usernamePassword", "credentialsId": "maice-admin",
                                    "usernameVariable": "ADMIN_USERNAME", "passwordVariable": "ADMIN_PASSWORD",
                                    "optional": False}
    assert by_id["maice-database-url"]["variable"] == "DATABASE_URL"
    assert by_id["maice-redis-url"]["optional"] is True
    assert "LOG_LEVEL" not in str(doc)
    assert len(doc["bindings"]) == 7  # five secret texts, one username/password pair, one optional


def test_the_state_dir_comes_with_the_bindings_as_an_absolute_path(tmp_path: Path, monkeypatch):
    """`credentials` names the state_dir (the docker runner mounts it), relative ones made absolute."""
    config_file = tmp_path / "bluegreen.yml"
    config_file.write_text(EXAMPLE.read_text(encoding="utf-8").replace("state_dir: /var/lib/bluegreen\n",
                                                                       "state_dir: state\n"), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    cfg = config.load("bluegreen.yml")
    assert credential_bindings(cfg.service("backend"), state_dir=cfg.state_dir)["state_dir"] == str(tmp_path / "state")


def test_reporter_masks_secret_values():
    """A secret value surfacing in any line (a container's log tail) is printed as ****."""
    buf = io.StringIO()
    out = Reporter("en", secrets=["s3cr3t-value"], stream=buf)
    out.line("connecting with password=s3cr3t-value now")
    assert "s3cr3t-value" not in buf.getvalue() and "password=****" in buf.getvalue()


def test_retention_keeps_what_runs_the_newest_and_the_recent():
    """In use, the newest N deployed and the last N history entries are kept; the rest is removable."""
    from bluegreen.operations.retention import judge_images, repository

    assert repository("reg:5000/maice-back:123") == "reg:5000/maice-back"
    assert repository("reg:5000/maice-back") == "reg:5000/maice-back"
    local = [(f"id{n}", (f"app:r{n}",), f"2026-12-01T00:00:{n:02d}") for n in range(1, 9)]
    found = judge_images(local, in_use={"id2": "app-blue"}, deployed=["app:r7", "app:r6", "app:r5", "app:r4"],
                         recent={"app:r3"}, retain=2)
    keep = {v.ref: v.why for v in found if v.keep}
    assert keep == {"app:r8": "newer than the last 2 deployed", "app:r7": "deployed #1 of the last 2",
                    "app:r6": "deployed #2 of the last 2", "app:r3": "named in the last 2 history entries",
                    "app:r2": "in use by app-blue"}
    assert {v.ref for v in found if not v.keep} == {"app:r1", "app:r4", "app:r5"}
    few = judge_images(local, in_use={}, deployed=["app:r7"], recent=set(), retain=2)
    assert all(v.keep for v in few)  # one deployed image is fewer than two: nothing goes yet
