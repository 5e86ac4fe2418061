"""`NginxControl.apply`: an `nginx -t` that fails only because Docker's DNS did not answer for a name is tried again,
within a bound; any other failure (or a name that never resolves) fails the switch as before, previous file back."""

from __future__ import annotations

import pytest

from bluegreen.clock import ManualClock
from bluegreen.errors import DeployFailed
from bluegreen.parts.engine import Process
from bluegreen.parts.nginx import NginxControl
from bluegreen.config.settings import Nginx

UNRESOLVED = (1, 'nginx: [emerg] host not found in upstream "app-blue:8000" in /etc/nginx/conf.d/app.upstream.conf:7\n'
                 "nginx: configuration file /etc/nginx/nginx.conf test failed\n")
SYNTAX = (1, 'nginx: [emerg] unexpected "}" in /etc/nginx/conf.d/app.upstream.conf:9\n')
OK = (0, "nginx: configuration file /etc/nginx/nginx.conf test is successful\n")


class _Docker:
    """Scripted answers for the swap (+ first test) and each later `nginx -t`; workers renew at every reload."""

    def __init__(self, swap: tuple[int, str], *tests: tuple[int, str]) -> None:
        self.swap, self.tests = swap, list(tests)
        self.execs: list[list[str]] = []
        self.generation = 0

    def exec(self, container: str, cmd: list[str], stdin: bytes | None = None) -> tuple[int, str]:
        self.execs.append(cmd)
        if cmd[:2] == ["sh", "-c"]:
            return self.swap if "nginx -t" in cmd[2] else (0, "")
        if cmd == ["nginx", "-t"]:
            return self.tests.pop(0) if len(self.tests) > 1 else self.tests[0]
        if cmd == ["nginx", "-s", "reload"]:  # no master visible from here: the reload goes through an exec
            self.generation += 1
            return 0, ""
        raise AssertionError(cmd)

    def processes(self, container: str) -> list[Process]:
        return [Process(str(100 + self.generation), 1, "nginx: worker process")]


def _apply(docker: _Docker, clock: ManualClock) -> None:
    NginxControl(docker, Nginx(container="nginx"), "/etc/nginx/conf.d/app.upstream.conf",  # type: ignore[arg-type]
              clock).apply("upstream app { server app-green:8000; }\n", "upstream app { server app-blue:8000; }\n")


def test_a_dns_miss_is_tested_again_and_the_switch_goes_on():
    docker, clock = _Docker(UNRESOLVED, UNRESOLVED, OK), ManualClock()
    _apply(docker, clock)
    assert docker.execs.count(["nginx", "-t"]) == 2
    assert ["nginx", "-s", "reload"] in docker.execs
    assert sum(clock.slept[:2]) == pytest.approx(1.0)  # two pauses of 0.5 s before the two tests


def test_a_name_that_never_resolves_fails_at_the_bound_with_the_previous_file_back():
    docker, clock = _Docker(UNRESOLVED, UNRESOLVED), ManualClock()
    with pytest.raises(DeployFailed) as failed:
        _apply(docker, clock)
    assert "host not found" in str(failed.value.params)
    assert ["nginx", "-s", "reload"] not in docker.execs
    assert docker.execs[-1][:2] == ["sh", "-c"] and "nginx -t" not in docker.execs[-1][2]  # previous file back
    assert 5 <= docker.execs.count(["nginx", "-t"]) <= 7  # every 0.5 s for 3 s, never past the bound
    assert sum(clock.slept) <= 3.0 + 1e-9


def test_any_other_test_failure_is_not_retried():
    docker, clock = _Docker(SYNTAX, OK), ManualClock()
    with pytest.raises(DeployFailed):
        _apply(docker, clock)
    assert ["nginx", "-t"] not in docker.execs
    assert clock.slept == []
