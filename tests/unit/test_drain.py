"""The drain of instances about to stop (parts/drain.py, parts/in_flight.py): ask each to stop, count its requests
in flight from its network namespace, wait while any remains, cut what is left at the deadline — and the count
itself, on this process's own real sockets."""

from __future__ import annotations

import os
import socket

import pytest

from bluegreen.clock import ManualClock
from bluegreen.parts import in_flight
from bluegreen.parts.drain import drain
from bluegreen.parts.instance import ContainerInfo


class _Docker:
    """Instances that end their requests on a script: `left[name]` = the counts seen at each look (the last one
    repeats); None in a script = the instance has exited."""

    def __init__(self, scripts: dict[str, list[int | None]], *, running: tuple[str, ...] | None = None) -> None:
        self.scripts, self.looks = scripts, {name: 0 for name in scripts}
        self.running = set(scripts if running is None else running)
        self.asked: list[str] = []

    def ask_to_stop(self, name: str):
        if name not in self.running:
            return None
        self.asked.append(name)
        return 4242, f"id-{name}"

    def inspect(self, name: str) -> ContainerInfo | None:
        script = self.scripts[name]
        value = script[min(self.looks[name], len(script) - 1)]
        self.looks[name] += 1
        return ContainerInfo(name, f"id-{name}", "img", "exited" if value is None else "running", None)


@pytest.fixture
def counts(monkeypatch):
    """in_flight.connections answers from the script the last inspect read."""
    docker_ref: dict = {}

    def connections(pid, container_id, port):
        d = docker_ref["docker"]
        name = container_id[3:]
        script = d.scripts[name]
        return script[min(d.looks[name] - 1, len(script) - 1)]

    monkeypatch.setattr(in_flight, "connections", connections)
    return docker_ref


def _drain(docker, names, timeout=30.0, clock=None):
    seen: list[tuple[int | None, float]] = []
    clock = clock or ManualClock()
    result = drain(docker, names, port=8000, timeout=timeout, clock=clock,  # type: ignore[arg-type]
                   progress=lambda n, left: seen.append((n, left)))
    return result, seen, clock


def test_nothing_running_asks_nothing_and_waits_not(counts):
    docker = _Docker({"a": [0]}, running=())
    counts["docker"] = docker
    result, seen, clock = _drain(docker, ["a"])
    assert result.names == () and not result.timed_out and clock.slept == [] and docker.asked == []


def test_waits_while_requests_end_and_reports_how_many_there_were(counts):
    docker = _Docker({"a": [3, 3, 2, 1, 0], "b": [1, 0]})
    counts["docker"] = docker
    result, seen, clock = _drain(docker, ["a", "b"])
    assert sorted(docker.asked) == ["a", "b"]
    assert result.at_start == 4 and result.cut == 0 and not result.timed_out and result.counted
    assert [n for n, _ in seen] == [4, 3, 2, 1]  # progress with the total each look
    assert abs(sum(clock.slept) - 0.4) < 1e-9


def test_an_instance_that_exits_counts_nothing(counts):
    docker = _Docker({"a": [2, None]})
    counts["docker"] = docker
    result, _, _ = _drain(docker, ["a"])
    assert result.at_start == 2 and not result.timed_out


def test_at_the_deadline_what_is_left_is_cut_per_instance(counts):
    docker = _Docker({"a": [5, 2], "b": [1, 0]})
    counts["docker"] = docker
    result, seen, clock = _drain(docker, ["a", "b"], timeout=3.0)
    assert result.timed_out and result.cut == 2 and result.by_name == {"a": 2}
    assert abs(sum(clock.slept) - 3.0) < 1e-9  # polled up to the bound, never past it
    assert all(left <= 3.0 for _, left in seen)


def test_uncounted_waits_for_the_exit_and_cuts_nothing_it_cannot_count(counts, monkeypatch):
    """From another PID namespace the sockets cannot be seen: the drain waits for the instance to exit."""
    docker = _Docker({"a": [0, 0, None]})
    counts["docker"] = docker
    monkeypatch.setattr(in_flight, "connections", lambda *a: None)
    result, seen, _ = _drain(docker, ["a"])
    assert not result.counted and not result.timed_out and seen and seen[0][0] is None
    docker = _Docker({"a": [0]})
    result, _, _ = _drain(docker, ["a"], timeout=1.0)
    assert not result.counted and result.timed_out and result.cut == 0


# --- the count, on real sockets of this process ---------------------------------------------------------------
@pytest.fixture
def connected():
    server = _listening_below_ephemeral()
    port = server.getsockname()[1]
    clients = [socket.create_connection(("127.0.0.1", port)) for _ in range(3)]
    accepted = [server.accept()[0] for _ in clients]
    yield port, clients, accepted
    for s in [*clients, *accepted, server]:
        s.close()


def _listening_below_ephemeral() -> socket.socket:
    """A port no client socket on this host gets as its own (the host's table is counted, busy with other tests'
    connections: a port from the ephemeral range could be another connection's local port too)."""
    low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
    for port in range(low - 1, low - 2000, -1):
        server = socket.socket()
        try:
            server.bind(("127.0.0.1", port))
        except OSError:
            server.close()
            continue
        server.listen()
        return server
    raise RuntimeError(f"no free port below {low}")


def _own_cgroup_word() -> str:
    """A word of this process's cgroup path, standing for a container id (the check is `id in cgroup`)."""
    with open(f"/proc/{os.getpid()}/cgroup") as f:
        return f.read().strip().splitlines()[-1].rpartition(":")[2] or "/"


def test_counts_the_connections_established_to_the_port(connected):
    port, clients, accepted = connected
    assert in_flight.connections(os.getpid(), _own_cgroup_word(), port) == 3
    accepted[0].close()
    clients[0].close()
    assert in_flight.connections(os.getpid(), _own_cgroup_word(), port) == 2


def test_a_pid_whose_cgroup_does_not_name_the_container_counts_nothing(connected):
    port, _, _ = connected
    assert in_flight.connections(os.getpid(), "0123456789abcdef" * 4, port) is None
    assert in_flight.connections(0, "x", port) is None
    assert in_flight.connections(2 ** 22 + 7, "x", port) is None


def test_held_by_counts_the_sockets_of_those_processes_to_the_peers(connected):
    """What a shutting-down nginx worker still proxies to an instance: its sockets to that address."""
    port, clients, _ = connected
    assert in_flight.held_by([os.getpid()], {f"127.0.0.1:{port}"}) == 3
    assert in_flight.held_by([os.getpid()], {f"127.0.0.2:{port}", "not an address"}) == 0
    assert in_flight.held_by([2 ** 22 + 7], {f"127.0.0.1:{port}"}) == 0  # exited: holds nothing
