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
    doc = credential_bindings(config.load(EXAMPLE).service("backend"))
    by_id = {b["credentialsId"]: b for b in doc["bindings"]}
    assert by_id["maice-admin"] == {"type": "usernamePassword", "credentialsId": "maice-admin",
                                    "usernameVariable": "ADMIN_USERNAME", "passwordVariable": "ADMIN_PASSWORD",
                                    "optional": False}
    assert by_id["maice-database-url"]["variable"] == "DATABASE_URL"
    assert by_id["maice-redis-url"]["optional"] is True
    assert "LOG_LEVEL" not in str(doc)
    assert len(doc["bindings"]) == 7  # five secret texts, one username/password pair, one optional


def test_reporter_masks_secret_values():
    """A secret value surfacing in any line (a container's log tail) is printed as ****."""
    buf = io.StringIO()
    out = Reporter("en", secrets=["s3cr3t-value"], stream=buf)
    out.line("connecting with password=s3cr3t-value now")
    assert "s3cr3t-value" not in buf.getvalue() and "password=****" in buf.getvalue()
