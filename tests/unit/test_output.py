"""Secrets of any shape never reach the operator's output: masked as values (whole, line by line, JSON-escaped)
before anything is formatted; a log tail is withheld when a secret is too short to mask."""

from __future__ import annotations

import io
import json
import sys

from hypothesis import HealthCheck, assume, given, settings, strategies as st

from bluegreen.output import Reporter

PEM = ("-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj\n"
       "MzEfYyjiWA4R4/M2bS1GB4t7NXp98C3SC6dVMvDuictGeurT8jNbvJZHtCSuYEvu\nNMoSfm76oqFvAp8Gy0iz5sxjZmSnXyCdPEovGhLa\n"
       "-----END PRIVATE KEY-----\n")
SERVICE_ACCOUNT = json.dumps({"type": "service_account", "private_key": PEM, "client_email": "x@y.iam"}, indent=2)


def reporter(*secrets: str, json_mode: bool = False) -> tuple[Reporter, io.StringIO]:
    buf = io.StringIO()
    return Reporter("en", secrets=secrets, stream=buf, json_mode=json_mode), buf


def test_a_pem_key_printed_line_by_line_is_masked():
    """A failing app that prints its PEM key: no line of the key appears in the log tail."""
    out, buf = reporter(PEM)
    out.log_tail(["starting", *PEM.splitlines(), "crashed"], name="app-green")
    printed = buf.getvalue()
    assert "starting" in printed and "crashed" in printed
    for line in PEM.splitlines():
        assert line not in printed


def test_a_json_service_account_is_masked_whole_lines_and_escaped():
    """Printed pretty, line by line, or JSON-escaped inside another JSON line: masked each way."""
    out, buf = reporter(SERVICE_ACCOUNT)
    escaped = json.dumps({"env": {"GOOGLE_CREDENTIALS": SERVICE_ACCOUNT}})
    out.log_tail([*SERVICE_ACCOUNT.splitlines(), escaped], name="app-green")
    assert "MIIEvQIBADAN" not in buf.getvalue() and "x@y.iam" not in buf.getvalue()


def test_a_one_character_secret_withholds_the_log_tail():
    """'7' cannot be masked without destroying every line: the tail is withheld, saying how to read it."""
    out, buf = reporter("7")
    out.log_tail(["port 8000 ready", "password is 7"], name="app-green")
    printed = buf.getvalue()
    assert "password is" not in printed and "docker logs --tail 20 app-green" in printed


def test_json_stays_valid_whatever_the_secret_is(monkeypatch):
    """A secret equal to a JSON word or a color masks values, never the document's syntax."""
    for secret in ("true", "blue", "null", '", "', "{}", "12"):
        stdout = io.StringIO()
        monkeypatch.setattr(sys, "stdout", stdout)
        out, _ = reporter(secret, json_mode=True)
        out.document({"active": "blue", "consistent": True, "count": 12, "note": f"x{secret}y"})
        doc = json.loads(stdout.getvalue())
        assert doc["consistent"] is True and doc["count"] == 12
        assert secret not in doc["note"] or len(secret) < 3


def test_message_parameters_are_masked_before_rendering():
    """An engine error that quotes a secret reaches the operator masked."""
    out, buf = reporter("Sup3r-S3cret")
    out.say("docker.run_failed", name="app-green", error="invalid env DATABASE_URL=Sup3r-S3cret")
    assert "Sup3r-S3cret" not in buf.getvalue() and "****" in buf.getvalue()


SECRETS = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=3, max_size=80)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(secret=SECRETS, before=st.text(max_size=20), after=st.text(max_size=20))
def test_generated_secrets_never_appear(secret, before, after):
    """Any secret (multi-line, unicode, JSON words) embedded in a log line, a message or a document is masked."""
    assume(secret.strip() == secret and len(secret) >= 3)
    out, buf = reporter(secret)
    plain, plain_buf = reporter()
    lines = f"{before}{secret}{after}".split("\n")
    for r in (out, plain):
        r.log_tail(lines, name="app")
        r.say("verify.failed", url="http://127.0.0.1/health", detail=f"{before}{secret}{after}")
    assume(secret not in plain_buf.getvalue().replace(f"{before}{secret}{after}", ""))  # not the tool's own text
    assert secret not in buf.getvalue()
    for line in secret.splitlines():
        if len(line.strip()) >= 3:
            assert line.strip() not in buf.getvalue()


def test_values_from_outside_cannot_forge_lines_or_colours():
    """A server name read from a hand-edited nginx file, or an app's log line, is printed escaped."""
    out, buf = reporter()
    out.say("status.problem.foreign", name="evil\x1b[31m\n✅ Consistent", where="/etc/nginx/x.conf:1")
    out.log_tail(["\x1b[2Jcleared"], name="app")
    printed = buf.getvalue()
    assert "\x1b" not in printed and "\\x1b[31m\\n✅ Consistent" in printed and printed.count("\n") == 2
