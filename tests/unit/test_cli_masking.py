"""Every message path of the CLI masks (issue 21 §7): a refusal raised while an operation begins (here: a secret
expanded into the image reference), the report of a rejected run (--json, --report), the one line of an
unexpected error and the record it leaves — for secrets of every shape, generated ones included."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings, strategies as st

from bluegreen.cli import app as cli
from bluegreen.output import variants

PEM = ("-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj\n"
       "MzEfYyjiWA4R4/M2bS1GB4t7NXp98C3SC6dVMvDuictGeurT8jNbvJZHtCSuYEvu\n-----END PRIVATE KEY-----")
CONFIG = """version: 1
network: bg-net
state_dir: state
nginx: {container: nginx, public_url: "http://127.0.0.1"}
services:
  backend:
    image: "registry.example/app:${TOKEN}${SUFFIX}"
    env:
      TOKEN: {credential: app-token}
"""


class _Engine:
    """The Docker engine as far as building the scene goes: it answers a ping (a refusal in `begin` comes first)."""

    def ping(self) -> bool:
        return True


@pytest.fixture
def project(project, monkeypatch):
    """CONFIG, and an engine that answers a ping."""
    (project / "bluegreen.yml").write_text(CONFIG)
    monkeypatch.setattr("bluegreen.parts.engine.base.docker.from_env", lambda **_: _Engine())
    return project


def deploy(project: Path, secret: str, capsys) -> tuple[int, str, str, str]:
    """`deploy --json --report` with TOKEN=secret (and SUFFIX, not a secret, making the image invalid whatever the
    secret is): (exit code, stdout, stderr, the report file)."""
    os.environ["TOKEN"], os.environ["SUFFIX"] = secret, "!"
    capsys.readouterr()
    with pytest.raises(SystemExit) as exited:
        cli.main(["deploy", "backend", "--json", "--report", str(project / "report.json")])
    out, err = capsys.readouterr()
    return exited.value.code, out, err, (project / "report.json").read_text()


def leaked(secret: str, project: Path, capsys) -> list[str]:
    """The forms of `secret` the refusal shows (stderr, --json, --report) that the same refusal with a neutral secret
    does not show too: a secret that is a word of bluegreen's own text shows where that text does (a known limit)."""
    code, out, err, report = deploy(project, secret, capsys)
    assert code == 2, err
    assert json.loads(out) == json.loads(report) and "****" in json.loads(out)["reason"]
    neutral = "".join(deploy(project, "QQQQ", capsys)[1:])
    return [form for form in variants(secret) if form in out + err + report and form not in neutral]


SHAPES = {
    "multi-line PEM": PEM,
    "JSON word": "true",
    "trailing newline": "tok-3f9a-77\n",
    "substring of a message word": "mage",  # in "--image" and "image reference"
    "quotes and backslash": "a'b\"c\\d",
    "control character": "esc\x1b[31m-red",
}


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_a_secret_in_a_refusal_raised_as_the_deploy_begins_is_masked_everywhere(shape, project, capsys,
                                                                               monkeypatch):
    """`${TOKEN}` puts the secret into an invalid image reference: exit 2, and the refusal on stderr, the
    --json document and the --report file show it masked; the documents stay valid JSON."""
    monkeypatch.setenv("TOKEN", "")
    monkeypatch.setenv("SUFFIX", "")
    assert leaked(SHAPES[shape], project, capsys) == []
    _, out, err, _ = deploy(project, SHAPES[shape], capsys)
    assert json.loads(out)["result"] == "rejected" and "Traceback" not in err
    assert "Invalid value for config key" in err  # the message's own words are never masked, only its values


def test_a_one_character_secret_keeps_every_document_valid(project, capsys, monkeypatch):
    """A secret too short to mask (one character) cannot be hidden in a refusal, but it never breaks the JSON."""
    monkeypatch.setenv("TOKEN", "")
    monkeypatch.setenv("SUFFIX", "")
    code, out, _, report = deploy(project, "{", capsys)
    assert code == 2 and json.loads(out) == json.loads(report)


_ANY = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",), exclude_characters="\x00"), min_size=3,
               max_size=60)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(secret=_ANY)
def test_generated_secrets_in_a_refusal_never_show(secret, project, capsys, monkeypatch):
    """Any secret (unicode, multi-line, JSON syntax, quotes) that makes the image invalid: masked in every output."""
    assume(secret.strip() == secret and len(secret) >= 3 and "\r" not in secret)
    monkeypatch.setenv("TOKEN", "")
    monkeypatch.setenv("SUFFIX", "")
    assert leaked(secret, project, capsys) == []


def test_an_unexpected_error_quoting_a_secret_is_masked_in_its_line_and_its_record(project, capsys, monkeypatch):
    """A bug whose message quotes the secret: the one `internal error` line, and the reason a crashed run records
    in history, mask it before they cut it, even when it straddles the 200 characters they keep."""
    secret = "Zq7-unexpected-" + "s" * 40
    monkeypatch.setenv("TOKEN", secret)

    def crash(self, report):
        raise RuntimeError("x" * 190 + secret)

    monkeypatch.setattr("bluegreen.operations.deploy.Deploy.begin", crash)
    with pytest.raises(SystemExit) as exited:
        cli.main(["deploy", "backend"])
    err = capsys.readouterr().err
    assert exited.value.code == 1 and "internal error" in err and "Zq7-unexp" not in err, err
    from bluegreen.output import Reporter
    from bluegreen.report import Report

    report = Report(service="backend", action="deploy")
    report.crash(RuntimeError("x" * 190 + secret), Reporter("en", secrets=[secret]).mask)
    assert "Zq7-unexp" not in report.reason and report.reason.endswith("****")
