"""entry.py: the rollback's command line recognized before click, and what the quick path may import.

The quick path switches before click parses anything, so whatever entry.py recognizes click must read the same
way (the same command, service, config and report) and accept: otherwise a refusal ("nothing was changed") would
come after traffic moved. Generated command lines and environments check it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from unittest import mock

import click
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bluegreen.cli import app as cli, entry
from bluegreen.parts.dict_file import file_color, new_generation, recolor, shape
from bluegreen.parts.render import render_shared_dict
from bluegreen.config.schema import parse

TOKENS = ["rollback", "deploy", "status", "backend", "web", "--config", "--config=b.yml", "b.yml", "--lang",
          "--lang=ko", "ko", "en", "xx", "--reason", "--reason=hotfix", "hot fix", "--report", "--report=r.json",
          "r.json", "--json", "--", "-h", "--help", "--version", "", "-", "--reason=", "--image", "v2", "--stage",
          "--monitor", "rollbackx"]
ENV = st.fixed_dictionaries({}, optional={
    "BLUEGREEN_SERVICE": st.sampled_from(["backend", "", "web"]),
    "BLUEGREEN_LANG": st.sampled_from(["ko", "en", "", "xx", "KO"]),
    "BLUEGREEN_CONFIG": st.sampled_from(["env.yml", ""]),
    "BLUEGREEN_REPORT": st.sampled_from(["env.json", ""]),
    "BLUEGREEN_REASON": st.sampled_from(["why", ""]),
})
CLEAN = {k: v for k, v in os.environ.items() if not k.startswith("BLUEGREEN_")}


def click_reads(argv: list[str], env: dict[str, str]) -> dict | None:
    """What click makes of the command line: the rollback's service, config and report, or None when it runs
    something else or refuses."""
    seen: dict = {}

    def reported(action, opts, service, report_path, run):
        seen.update(action=action, service=service, config=opts.config_path, report=report_path)

    with mock.patch.dict(os.environ, {**CLEAN, **env}, clear=True), mock.patch.object(cli, "_reported", reported):
        try:
            cli.cli.main(args=argv, prog_name="bluegreen", standalone_mode=False)
        except (click.ClickException, click.exceptions.Exit, click.Abort, SystemExit):
            return None
        except Exception:  # another command ran for real (status without a config): not a rollback either
            return None
    return seen if seen.get("action") == "rollback" else None


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(argv=st.lists(st.sampled_from(TOKENS), max_size=7), env=ENV)
def test_what_entry_recognizes_click_reads_the_same_way(argv, env):
    ours = entry.rollback_args(argv, {**CLEAN, **env})
    if ours is None:
        return
    theirs = click_reads(argv, env)
    assert theirs is not None, f"click refuses {argv} {env}, which entry.py took for a rollback"
    config = ours["config"] or env.get("BLUEGREEN_CONFIG") or None
    assert (theirs["service"], theirs["config"] or None, theirs["report"] or None) == \
        (ours["service"], config, ours["report"]), (argv, env)


@pytest.mark.parametrize("argv, env, expected", [
    (["rollback"], {"BLUEGREEN_SERVICE": "backend", "BLUEGREEN_REPORT": "r.json"},  # how the Jenkins step runs it
     {"config": None, "service": "backend", "report": "r.json"}),
    (["--config", "b.yml", "rollback", "--json", "backend", "--reason=x"], {},
     {"config": "b.yml", "service": "backend", "report": None}),
    (["rollback", "backend", "--lang", "ko"], {}, None),  # --lang belongs before the command: click refuses
    (["--lang", "xx", "rollback", "backend"], {}, None),  # not a language click accepts
    (["rollback", "backend", "web"], {}, None),
    (["rollback", "--reason", "--json", "backend"], {}, None),  # a value that looks like an option: left to click
    (["deploy", "backend"], {}, None),
    (["rollback"], {}, None),
])
def test_examples(argv, env, expected):
    assert entry.rollback_args(argv, env) == expected


def test_the_quick_path_imports_nothing_heavy():
    """Before its switch the rollback imports neither click nor the Docker SDK, httpx, jinja2, http.client or ssl:
    together ~0.4 s of a rollback on 2 cores, against 0.3 s for the whole switch."""
    code = ("import sys, bluegreen.cli.entry, bluegreen.quick.rollback; "
            "print(' '.join(sorted(m for m in sys.modules if m.split('.')[0] in "
            "{'click', 'docker', 'requests', 'urllib3', 'httpx', 'httpcore', 'jinja2', 'http', 'ssl', 'email'} "
            "or m in {'bluegreen.config.settings', 'bluegreen.config.schema', 'bluegreen.cli.app'})))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == [], out


SERVICE = parse({"network": "n", "services": {"backend": {"container_prefix": "maice-back"}}}).service("backend")


@pytest.mark.parametrize("target", ["blue", "green"])
def test_the_quick_paths_file_is_the_one_a_render_gives(target):
    """The quick path derives the rollback's file from the confirmed one (no jinja2): the same text the full path
    renders for that switch, generation aside — so what it installs is what a full rollback would."""
    source = "green" if target == "blue" else "blue"
    kwargs = {"admin_socket": "/run/bluegreen/b.sock", "module": "/etc/nginx/bluegreen/b.js", "key_digest": "0" * 64}
    confirmed = render_shared_dict(SERVICE, primary=source, backup=target, generation="g1", **kwargs)
    rendered = render_shared_dict(SERVICE, primary=target, backup=source, generation="g2", **kwargs)
    derived = recolor(confirmed, target, "g2")
    assert derived == rendered
    assert file_color(derived) == target and shape(derived) == shape(confirmed)
    assert recolor(confirmed, target, new_generation()) != derived  # a new generation each time


class _Undone:
    """A quick switch the CLI never took over, whose put-back fails as `error` says."""

    def __init__(self, error: BaseException) -> None:
        self.error, self.taken = error, False
        self.source, self.target = "blue", "green"
        self.state = mock.Mock(service="backend")

    def undo(self) -> None:
        raise self.error


@pytest.mark.parametrize("error, code", [
    (ProcessLookupError(3, "No such process"), 3),
    (OSError(28, "No space left on device", "/var/lib/bluegreen/backend.state.json"), 3),
    (RuntimeError("admin socket said 500"), 3),
    (KeyboardInterrupt(), 130),
])
def test_a_failed_undo_of_the_quick_switch_is_one_line_and_its_exit_code(error, code, tmp_path, monkeypatch, capsys):
    """The CLI refused the rollback after the quick path switched (here: the config has no such service), and
    putting the previous color back fails (nginx gone, a full disk): one line naming what is left and where, its
    exit code (3; 130 for Ctrl-C), never a traceback past cli.main."""
    from bluegreen.quick import rollback as quick_rollback

    monkeypatch.chdir(tmp_path)
    (tmp_path / "bluegreen.yml").write_text("version: 1\nnetwork: n\nnginx: {container: nginx, public_url: "
                                            "'http://127.0.0.1'}\nservices:\n  web: {image: 'app:1'}\n")
    monkeypatch.setattr(quick_rollback, "attempt", lambda config, service: _Undone(error))
    with mock.patch.dict(os.environ, {**CLEAN, "BLUEGREEN_LANG": "en"}, clear=True), \
            pytest.raises(SystemExit) as exited:
        entry.main(["rollback", "backend"])
    err = capsys.readouterr().err
    assert exited.value.code == code, err
    assert "Traceback" not in err and "internal error" not in err
    if code == 3:
        undo_line = err.splitlines()[-1]
        assert "could not be put back on blue" in undo_line and "still be on green" in undo_line, err
        assert ("No such process" if isinstance(error, ProcessLookupError) else
                "backend.state.json" if isinstance(error, OSError) else "admin socket said 500") in undo_line
