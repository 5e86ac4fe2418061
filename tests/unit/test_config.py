"""Config validation: every bad value is refused with the key named, and the shipped example is valid."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings as hypothesis_settings
from hypothesis import strategies as st

from bluegreen import config
from bluegreen.config import file as config_file, settings
from bluegreen.config.schema import parse
from bluegreen.errors import MissingVariables, UsageError

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "maice" / "bluegreen.yml"


def minimal(**service: object) -> dict:
    return {"network": "net", "services": {"backend": {"image": "app:1", **service}}}


def test_shipped_example_reproduces_the_guide():
    """examples/maice/bluegreen.yml loads and has the guide's names and seven secrets."""
    cfg = config.load(EXAMPLE)
    svc = cfg.service("backend")
    assert cfg.network == "maicesystem_maice_network"
    assert (svc.container("blue"), svc.container("green")) == ("maice-back-blue", "maice-back-green")
    assert svc.port == 8000 and svc.upstream == "maice_backend"
    secrets = {v.name for v in svc.env if v.credential and not v.optional}
    assert secrets == {"DATABASE_URL", "OPENAI_API_KEY", "GOOGLE_CLIENT_ID", "GOOGLE_CLIENT_SECRET",
                       "ADMIN_USERNAME", "ADMIN_PASSWORD", "SESSION_SECRET_KEY"}
    assert svc.image == settings.DEFAULT_IMAGE


@pytest.mark.parametrize("raw, key", [
    ({"network": "net", "services": {"backend": {"imagee": "x"}}}, "services.backend.imagee"),
    ({"network": "net", "nginx": {"relaod": "exec"}, "services": {"b": {}}}, "nginx.relaod"),
    ({"network": "net", "extra": 1, "services": {"b": {}}}, "extra"),
    (minimal(health={"pth": "/x"}), "services.backend.health.pth"),
])
def test_unknown_keys_are_named(raw, key):
    """An unknown key anywhere is an error that names its full path."""
    with pytest.raises(UsageError) as err:
        parse(raw)
    assert err.value.key == "config.unknown_key" and err.value.params["key"] == key


@pytest.mark.parametrize("service, key", [
    ({"container_prefix": "app;rm -rf"}, "services.backend.container_prefix"),
    ({"container_prefix": "App"}, "services.backend.container_prefix"),
    ({"upstream": "x { } server evil"}, "services.backend.upstream"),
    ({"upstream_file": "/etc/nginx/conf.d/../nginx.conf"}, "services.backend.upstream_file"),
    ({"upstream_file": "relative.conf"}, "services.backend.upstream_file"),
    ({"server_params": "max_fails=1; include /etc/passwd"}, "services.backend.server_params"),
    ({"port": 0}, "services.backend.port"),
    ({"port": "8000"}, "services.backend.port"),
    ({"health": {"timeout": "soon"}}, "services.backend.health.timeout"),
    ({"health": {"path": "health"}}, "services.backend.health.path"),
    ({"restart": "sometimes"}, "services.backend.restart"),
    ({"env": {"BAD-NAME": {}}}, "services.backend.env.BAD-NAME"),
    ({"env": {"X": {"credential": "c", "value": "v"}}}, "services.backend.env.X.value"),
    ({"labels": {"bluegreen.color": "red"}}, "services.backend.labels.bluegreen.color"),
])
def test_bad_values_are_refused_with_their_key(service, key):
    """Values that would end up in nginx config or container names are validated (no injection)."""
    with pytest.raises(UsageError) as err:
        parse(minimal(**service))
    assert err.value.params["key"] == key
    assert key in str(err.value)


def test_two_services_cannot_share_a_container_prefix():
    """Two services fighting over one container name are refused."""
    raw = {"network": "n", "services": {"a": {"container_prefix": "x"}, "b": {"container_prefix": "x"}}}
    with pytest.raises(UsageError) as err:
        parse(raw)
    assert err.value.key == "config.shared"


def test_missing_file_and_bad_yaml(tmp_path):
    """A missing file and broken YAML are one-line usage errors."""
    with pytest.raises(UsageError) as err:
        config.load(tmp_path / "nope.yml")
    assert err.value.key == "config.not_found"
    bad = tmp_path / "bad.yml"
    bad.write_text("services: [unclosed\n")
    with pytest.raises(UsageError) as err:
        config.load(bad)
    assert err.value.key == "yaml.syntax" and "\n" not in str(err.value)


def test_image_expansion_lists_every_missing_variable():
    """${VAR} placeholders expand from the environment; all unset ones are listed at once."""
    assert config.expand("${A}/${B}:1", {"A": "r", "B": "i"}, key="k") == "r/i:1"
    with pytest.raises(MissingVariables) as err:
        config.expand("${REGISTRY_URL}/${BACKEND_IMAGE}:${BUILD_NUMBER}", {"BACKEND_IMAGE": "x"}, key="k")
    assert err.value.params["names"] == "REGISTRY_URL, BUILD_NUMBER"


def test_relative_state_dir_is_relative_to_the_config(tmp_path):
    """state_dir: ./state in /x/bluegreen.yml means /x/state, wherever the command runs."""
    path = tmp_path / "bluegreen.yml"
    path.write_text(yaml.safe_dump({**minimal(), "state_dir": "state"}))
    assert config.load(path).state_dir == tmp_path / "state"


def test_unknown_service_lists_the_configured_ones():
    """Asking for a service the config lacks names the ones it has."""
    cfg = parse(minimal())
    with pytest.raises(UsageError) as err:
        cfg.service("frontend")
    assert "backend" in str(err.value)


@hypothesis_settings(max_examples=500, deadline=None)
@given(state_dir=st.text(min_size=1, max_size=40), before=st.booleans(),
       extra=st.dictionaries(st.sampled_from(["version", "network", "nginx", "services"]),
                             st.one_of(st.integers(), st.text(max_size=10),
                                       st.dictionaries(st.sampled_from(["state_dir", "x"]), st.text(max_size=10))),
                             max_size=3))
def test_the_quick_paths_state_dir_is_the_parsed_one_or_none(state_dir, before, extra):
    """config_file.declared_state_dir (the rollback's quick path, without PyYAML) gives what the parser reads from
    a file as people and yaml.safe_dump write it, or None; never another directory."""
    doc = {"state_dir": state_dir, **extra} if before else {**extra, "state_dir": state_dir}
    data = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True).encode("utf-8")
    found = config_file.declared_state_dir(data)
    assert found is None or found == yaml.safe_load(data)["state_dir"], (data, found)


def test_the_quick_paths_state_dir_defaults_only_when_no_top_level_line_names_it():
    assert config_file.declared_state_dir(b"version: 1\nservices:\n  a:\n    state_dir: /x\n") == "/var/lib/bluegreen"
    assert config_file.declared_state_dir(b"state_dir: /srv/bg  # here\n") == "/srv/bg"
    assert config_file.declared_state_dir(b"state_dir: /srv/bg#1\n") == "/srv/bg#1"  # no space: not a comment
    for unsure in (b"state_dir: '/q'\n", b"state_dir: /a\nstate_dir: /b\n", b"state_dir:\n  /a\n",
                   b"state_dir: &x /a\n", b"state_dir : /a\n"):
        assert config_file.declared_state_dir(unsure) is None, unsure
