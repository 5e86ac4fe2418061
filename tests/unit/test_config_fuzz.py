"""Generated bad input (hypothesis): configs, YAML text, state, history and lock files, URLs, durations, image
references. Whatever comes in, the outcome is a value that holds its invariants or a refusal with a documented
exit code; never another exception.

Bounded for `make test` (the "bad-inputs" profile); `make fuzz` runs the "bad-inputs-fuzz" profile (many more
examples) by setting BLUEGREEN_FUZZ=1.
"""

from __future__ import annotations

import copy
import json
import math
import os
import signal

import httpx
import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from bluegreen.config import values as config_values
from bluegreen.cli.app import main
from bluegreen.config.schema import parse
from bluegreen.config.values import IMAGE, public_url
from bluegreen.errors import BlueGreenError, StateCorrupt, UsageError
from bluegreen.parts.render import render_upstream
from bluegreen.parts.state import ServiceState, StateDir
from bluegreen.parts.upstream import parse_upstream
from bluegreen.units import MAX_SECONDS, parse_duration

settings.register_profile("bad-inputs", max_examples=int(os.environ.get("BLUEGREEN_FUZZ_EXAMPLES", 60)),
                          deadline=None, database=None, derandomize=False,
                          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
settings.register_profile("bad-inputs-fuzz", parent=settings.get_profile("bad-inputs"), max_examples=3000)
PROFILE = settings.get_profile("bad-inputs-fuzz" if os.environ.get("BLUEGREEN_FUZZ") else "bad-inputs")

BASE = {
    "version": 1, "network": "bg-net", "state_dir": "/var/lib/bluegreen",
    "nginx": {"container": "nginx", "reload": "signal", "public_url": "http://127.0.0.1", "reload_timeout": "10s",
              "access_log": "docker-logs"},
    "services": {"backend": {
        "image": "${REGISTRY_URL}/app:${BUILD_NUMBER}", "container_prefix": "maice-back", "port": 8000,
        "upstream": "maice_backend", "upstream_file": "/etc/nginx/conf.d/maice_backend.upstream.conf",
        "server_params": "max_fails=3 fail_timeout=30s",
        "health": {"path": "/health/simple", "public_path": "/health", "timeout": "120s", "interval": "2s",
                   "successes": 3, "request_timeout": "5s"},
        "stop_timeout": "30s", "restart": "unless-stopped", "volumes": ["/srv/data:/data:ro"],
        "labels": {"com.maice.team": "backend"},
        "env": {"DATABASE_URL": {"credential": "maice-database-url"}, "LOG_LEVEL": {"value": "info"}},
        "monitor": {"duration": "60s", "interval": "2s", "max_error_rate": 0.05, "min_requests": 20,
                    "max_latency_factor": 2.0, "latency_floor": "200ms", "failures": 3, "smoke": ["/api/ping"]},
    }},
}
PATHS = [p for p in (
    ("version",), ("network",), ("state_dir",), ("nginx",), ("services",),
    *[("nginx", k) for k in BASE["nginx"]], ("nginx", "log_format"),
    ("services", "backend"), *[("services", "backend", k) for k in BASE["services"]["backend"]],
    *[("services", "backend", "health", k) for k in BASE["services"]["backend"]["health"]],
    *[("services", "backend", "monitor", k) for k in BASE["services"]["backend"]["monitor"]],
    ("services", "backend", "env", "DATABASE_URL"), ("services", "backend", "env", "DATABASE_URL", "credential"),
    ("services", "backend", "labels", "com.maice.team"), ("services", "backend", "volumes", 0),
    ("services", "backend", "monitor", "smoke", 0),
)]

# What arrives from YAML: scalars of every kind (control characters, huge numbers, inf/nan), lists, mappings.
TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)
TRICKY = st.sampled_from(["", " ", "\n", "0", "0s", "-1", "1e400", "inf", ".inf", "nan", "25h", "24h", "50ms",
                          "49ms", "http://[::1", "http://a\r\nb", "/health\n", "$(id)", "../../etc/passwd",
                          "/:/host", "/var/run/docker.sock:/s", "BLUEGREEN_COLOR", "\x1b[31m", "a" * 300,
                          "http://u:p@h", "http://h:0", "http://h:65536", "http://h/#f", "http://h/?q",
                          "/etc/nginx/conf.d/default.conf", "${X}", "app:1", "http://127.0.0.1:8080/prefix"])
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.integers(min_value=-(10 ** 400), max_value=10 ** 400),
                    st.floats(allow_nan=True, allow_infinity=True), TEXT, TRICKY)
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                        st.dictionaries(st.one_of(TEXT, TRICKY), inner, max_size=4)),
                      max_leaves=8)


def mutated(path: tuple, value: object, delete: bool) -> dict:
    raw = copy.deepcopy(BASE)
    node = raw
    for key in path[:-1]:
        if not isinstance(node, (dict, list)):
            return raw
        node = node[key]
    if delete and isinstance(node, dict):
        node.pop(path[-1], None)
    else:
        node[path[-1]] = value
    return raw


def holds_invariants(cfg) -> None:
    """A config that passed: everything that reaches nginx, Docker, httpx or a wait is within its bounds."""
    httpx.URL(cfg.nginx.public_url + "/health")
    assert cfg.nginx.public_url.startswith(("http://", "https://")) and cfg.nginx.public_url.isprintable()
    assert 0.05 <= cfg.nginx.reload_timeout <= MAX_SECONDS
    for svc in cfg.services.values():
        h, m = svc.health, svc.monitor
        for seconds in (h.timeout, h.interval, h.request_timeout, m.duration, m.interval):
            assert math.isfinite(seconds) and 0.05 <= seconds <= MAX_SECONDS
        assert 0 <= svc.stop_timeout <= MAX_SECONDS and 0 <= m.latency_floor <= 3600
        for path in (h.path, h.public_path or "/", *m.smoke):
            url = httpx.URL(f"http://10.0.0.2:{svc.port}{path}")
            assert url.host == "10.0.0.2"
            assert (cfg.nginx.public_url + path).isprintable()
        for text in (*svc.volumes, *svc.labels, *svc.labels.values(), *(v.name for v in svc.env)):
            assert text.isprintable()
        assert all(not v.name.startswith("BLUEGREEN_") for v in svc.env)
        text = render_upstream(svc, primary="blue", backup="green", generation="g")
        view = parse_upstream(text, svc.upstream)
        assert view.blocks == 1 and view.primaries == (svc.container("blue"),)
        assert view.backups == (svc.container("green"),) and len(text.splitlines()) == 8


@PROFILE
@given(path=st.sampled_from(PATHS), value=VALUES, delete=st.booleans())
def test_a_mutated_config_is_valid_or_refused_naming_a_key(path, value, delete):
    """Any value at any key: a config that holds its invariants, or a UsageError (exit 2) naming the key."""
    try:
        cfg = parse(mutated(path, value, delete))
    except UsageError as error:
        assert error.exit_code == 2 and len(str(error).splitlines()) == 1
        return
    holds_invariants(cfg)


@PROFILE
@given(text=st.one_of(TEXT, st.text(max_size=400), TRICKY, st.builds(
    lambda p, v: yaml.safe_dump(mutated(p, v, False), allow_unicode=True), st.sampled_from(PATHS), VALUES)))
def test_any_yaml_text_is_one_line_and_exit_0_or_2(text, tmp_path, capsys, monkeypatch):
    """Whatever the file says, `config check` exits 0, or 2 with exactly one line, never a traceback."""
    monkeypatch.setenv("BLUEGREEN_LANG", "en")
    path = tmp_path / "bluegreen.yml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    signal.alarm(10)
    try:
        main(["--config", str(path), "config", "check"])
    except SystemExit as done:
        code = done.code
    finally:
        signal.alarm(0)
    _, err = capsys.readouterr()
    assert code in (0, 2) and "Traceback" not in err and "internal error" not in err
    assert len(err.splitlines()) == (1 if code else 0), err


JSON = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), TEXT),
                    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(TEXT, inner, max_size=4)),
                    max_leaves=10)
STATE = st.one_of(
    JSON.map(lambda v: json.dumps(v).encode()),
    st.fixed_dictionaries({}, optional={f: JSON for f in ("loaded_config", "promoted", "images", "workers",
                                                          "pending", "unknown")}).map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=200),
)


@PROFILE
@given(data=STATE)
def test_any_state_file_loads_typed_or_is_state_corrupt(data, tmp_path_factory):
    """state.json with anything in it: a ServiceState with the declared types, or StateCorrupt (exit 3)."""
    root = tmp_path_factory.mktemp("state")
    (root / "backend.state.json").write_bytes(data)
    try:
        state = StateDir(root, "backend").load()
    except StateCorrupt as error:
        assert error.exit_code == 3 and len(str(error).splitlines()) == 1
        return
    assert isinstance(state, ServiceState)
    assert state.loaded_config is None or isinstance(state.loaded_config, str)
    assert all(isinstance(k, str) and isinstance(v, str) for d in (state.promoted, state.images) for k, v in d.items())
    assert all(isinstance(w, str) for w in state.workers)


@PROFILE
@given(lines=st.lists(st.one_of(JSON.map(json.dumps).map(str.encode), st.binary(max_size=40)), max_size=6),
       torn=st.binary(max_size=30))
def test_any_history_reads_as_objects_or_is_state_corrupt(lines, torn, tmp_path_factory):
    """History lines of anything: entries that are objects, or StateCorrupt naming a line; a torn tail never
    matters, and the next record() leaves the file valid."""
    assume(all(b"\n" not in line for line in lines) and b"\n" not in torn)
    root = tmp_path_factory.mktemp("history")
    (root / "backend.history.jsonl").write_bytes(b"".join(line + b"\n" for line in lines) + torn)
    state = StateDir(root, "backend")
    try:
        entries = list(state.history())
    except StateCorrupt as error:
        assert error.exit_code == 3 and len(str(error).splitlines()) == 1
        return
    assert all(isinstance(e, dict) for e in entries)
    state.record({"n": 1})
    assert list(state.history())[0] == {"n": 1}


@PROFILE
@given(data=st.one_of(JSON.map(lambda v: json.dumps(v).encode()), st.binary(max_size=100)))
def test_any_lock_content_is_taken_over_only_when_it_names_a_holder(data, tmp_path_factory):
    """A free lock holding anything: taken (nothing, or a holder bluegreen could have written), or StateCorrupt."""
    root = tmp_path_factory.mktemp("lock")
    (root / "backend.lock").write_bytes(data)
    state = StateDir(root, "backend")
    try:
        state.acquire("deploy backend")
    except StateCorrupt as error:
        assert error.exit_code == 3 and (root / "backend.lock").read_bytes() == data
        return
    state.unlock()


HOSTS = st.one_of(st.sampled_from(["127.0.0.1", "localhost", "nginx", "[::1]", "[::1", "::1", "a..b", "-a", "a_b",
                                   "999.1.1.1", "1.2.3.4.5", "exa mple", "bücher.de", "", "h\n", "[fe80::1%25x]"]),
                  st.from_regex(r"[a-z0-9.\-\[\]:]{1,20}", fullmatch=True), TEXT)
URLS = st.builds(lambda scheme, user, host, port, path, tail: f"{scheme}{user}{host}{port}{path}{tail}",
                 st.sampled_from(["http://", "https://", "HTTP://", "ftp://", "", "http:/", "http:///"]),
                 st.sampled_from(["", "u@", "u:p@", "@"]), HOSTS,
                 st.one_of(st.just(""), st.integers(-5, 70000).map(lambda p: f":{p}"), st.just(":"), TEXT.map(":{}".format)),
                 st.one_of(st.just(""), st.just("/"), st.from_regex(r"(/[a-z0-9._~-]{1,8}){1,3}/?", fullmatch=True), TEXT),
                 st.sampled_from(["", "?q=1", "#f", " ", "\r\n", "\t", "/"]))


@PROFILE
@given(url=st.one_of(URLS, TEXT))
def test_an_accepted_public_url_is_one_httpx_takes_and_nothing_more(url):
    """public_url: refused at config time, or an http(s) origin httpx parses, with a host and no userinfo."""
    try:
        accepted = public_url(url, "nginx.public_url")
    except UsageError as error:
        assert error.key == "config.bad_url"
        return
    parsed = httpx.URL(accepted + "/health")
    assert parsed.scheme in ("http", "https") and parsed.host and not parsed.userinfo
    assert not parsed.query and not parsed.fragment and accepted.isascii() and accepted.isprintable()
    assert " " not in accepted


@PROFILE
@given(value=st.one_of(TEXT, TRICKY, st.integers(), st.integers(min_value=10 ** 300), st.floats(),
                       st.from_regex(r"[0-9]{1,20}(\.[0-9]{1,12})?(ms|s|m|h)?\s?", fullmatch=True)))
def test_a_duration_is_finite_and_at_most_a_day_or_none(value):
    seconds = parse_duration(value)
    assert seconds is None or (math.isfinite(seconds) and 0 <= seconds <= MAX_SECONDS)


@PROFILE
@given(ref=st.one_of(TEXT, TRICKY, st.from_regex(r"[a-zA-Z0-9._:/@$`;\-\s]{1,40}", fullmatch=True)))
def test_an_accepted_image_reference_has_no_shell_or_control_characters(ref):
    if IMAGE.fullmatch(ref) and len(ref) <= config_values.IMAGE_MAX:
        assert ref.isprintable() and not set(ref) & set(" \t\n$`;|&<>()\\'\"")


def test_the_image_pattern_is_linear_on_long_hostile_input():
    """The reference pattern never backtracks for long (a 512-character hostile ref is judged at once)."""
    import time

    for ref in ("a" + "-" * 500 + "!", "a." * 255 + "!", "a/" * 255 + "!", "a_" * 255 + "A", "a" * 5000 + ":"):
        started = time.perf_counter()
        IMAGE.fullmatch(ref)
        assert time.perf_counter() - started < 0.05, ref[:20]


@pytest.mark.parametrize("case", ["1e400", ".inf", "25h", "0s", "99999999999999999999h"])
def test_specific_overflows_never_reach_a_wait(case):
    """The values the issue found overflowing mid-deploy are refused with the key named."""
    raw = mutated(("services", "backend", "health", "timeout"), yaml.safe_load(case), False)
    with pytest.raises(BlueGreenError) as error:
        parse(raw)
    assert error.value.params["key"] == "services.backend.health.timeout"
