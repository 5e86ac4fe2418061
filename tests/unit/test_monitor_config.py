"""The monitoring keys of bluegreen.yml (`services.<name>.monitor`, `nginx.access_log`, `nginx.log_format`) and
the --monitor / --duration values: defaults, and every bad value refused with its key named."""

from __future__ import annotations

from pathlib import Path

import pytest

from bluegreen import config
from bluegreen.config import settings
from bluegreen.config.log_format import DEFAULT_FORMAT
from bluegreen.config.schema import parse
from bluegreen.errors import UsageError
from bluegreen.cli.options import duration_option

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "maice" / "bluegreen.yml"


def minimal(monitor=None, **nginx) -> dict:
    service = {"image": "app:1", **({"monitor": monitor} if monitor is not None else {})}
    return {"network": "net", "nginx": nginx, "services": {"backend": service}}


def test_defaults():
    """No monitor section: 60 s, every 2 s, 5% above the baseline, 20 requests, 2× p95 above 200 ms, 3 probes."""
    cfg = parse(minimal())
    assert cfg.service("backend").monitor == settings.Monitor(60.0, 2.0, 0.05, 20, 2.0, 0.2, 3, ())
    assert (cfg.nginx.access_log, cfg.nginx.log_format) == ("docker-logs", DEFAULT_FORMAT)


def test_shipped_example_documents_every_key():
    """examples/maice/bluegreen.yml sets each monitoring key (the documentation the validator checks)."""
    import dataclasses

    import yaml

    raw = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    assert set(raw["services"]["backend"]["monitor"]) == {f.name for f in dataclasses.fields(settings.Monitor)}
    assert {"access_log", "log_format"} <= set(raw["nginx"])
    cfg = config.load(EXAMPLE)
    assert cfg.service("backend").monitor.duration == 60.0
    assert cfg.nginx.log_format == DEFAULT_FORMAT


@pytest.mark.parametrize("monitor, key", [
    ({"durration": "1m"}, "services.backend.monitor.durration"),
    ({"duration": "0s"}, "services.backend.monitor.duration"),
    ({"interval": "often"}, "services.backend.monitor.interval"),
    ({"max_error_rate": 5}, "services.backend.monitor.max_error_rate"),
    ({"max_error_rate": "5%"}, "services.backend.monitor.max_error_rate"),
    ({"min_requests": 0}, "services.backend.monitor.min_requests"),
    ({"max_latency_factor": 0.5}, "services.backend.monitor.max_latency_factor"),
    ({"latency_floor": -1}, "services.backend.monitor.latency_floor"),
    ({"failures": True}, "services.backend.monitor.failures"),
    ({"smoke": "/"}, "services.backend.monitor.smoke"),
    ({"smoke": ["http://evil/"]}, "services.backend.monitor.smoke"),
])
def test_bad_monitor_values_are_named(monitor, key):
    """Each bad value is refused naming its key."""
    with pytest.raises(UsageError) as err:
        parse(minimal(monitor))
    assert err.value.params["key"] == key


@pytest.mark.parametrize("nginx, key", [
    ({"access_log": "access.log"}, "nginx.access_log"),
    ({"access_log": "/var/log/../../etc/shadow"}, "nginx.access_log"),
    ({"access_log": "/var/log/nginx/a.log; rm -rf /"}, "nginx.access_log"),
    ({"log_format": 3}, "nginx.log_format"),
])
def test_bad_access_log_settings_are_named(nginx, key):
    """A relative or odd path, or a format that is not text, is refused."""
    with pytest.raises(UsageError) as err:
        parse(minimal(**nginx))
    assert err.value.params["key"] == key


def test_log_format_must_have_the_fields_the_monitor_reads():
    """A format without $upstream_addr / $request_time is refused, naming what is missing."""
    with pytest.raises(UsageError) as err:
        parse(minimal(log_format='$remote_addr "$request" $status'))
    assert err.value.key == "config.log_format_missing"
    assert err.value.params["names"] == "$request_time, $upstream_addr"


def test_access_log_choices():
    """A file inside the nginx container, docker-logs, or off."""
    for value in ("/var/log/nginx/bluegreen.log", "docker-logs", "off"):
        assert parse(minimal(access_log=value)).nginx.access_log == value


@pytest.mark.parametrize("value, seconds", [(None, None), ("", None), ("60s", 60.0), ("2m", 120.0), ("0", 0.0)])
def test_duration_option(value, seconds):
    """--monitor / --duration: unset or empty (as Jenkins passes it) is no value; 0 switches deploy monitoring off."""
    assert duration_option(value, "--monitor") == seconds


def test_bad_duration_option():
    """A value that is not a duration is a usage error naming the option."""
    with pytest.raises(UsageError) as err:
        duration_option("soon", "--monitor")
    assert err.value.params["option"] == "--monitor" and err.value.params["value"] == "'soon'"
    assert err.value.exit_code == 2


def test_a_watch_of_nothing_is_refused():
    """`monitor --duration 0` would watch nothing; `deploy --monitor 0` switches the watch off."""
    with pytest.raises(UsageError) as err:
        duration_option("0", "--duration", zero=False)
    assert err.value.key == "monitor.bad_duration" and err.value.exit_code == 2
