"""The fault rows of issue 24 on the three-node Swarm of tests/swarm_nodes.py (`chaos_bench.py --nodes`): a worker
lost while a deploy's new tasks are health-checked (N1, N2), each injected at the failpoint
`deploy.candidate_started:pause` as tests/test_swarm_node_loss.py does, or after the switch as the deploy's monitor
starts watching (N3, N4: `monitor.watching:pause`), under the fault bench's load, sent to nginx on the manager's address.

The stack is the fault bench's, on the manager engine: nginx 1.30 (reload switch) on an attachable overlay,
published on the manager's address; `runtime: swarm`, 4 replicas per color, dnsrr, no placement constraint (a
drained node's tasks may go to the two nodes left), Swarm's restart condition `any` (bluegreen's `unless-stopped`:
Swarm starts a task that left with its node again elsewhere), the releases from the registry.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Callable

import docker

from chaos.rows import Outcome, Row, paused
from chaos.stack import ChaosStack, wait, write_backend_config
from three_nodes import APP_REPO, PUBLISH_IP, swarm_nodes

MODE = "swarm-nodes"
POINT = "deploy.candidate_started"
WORKER = 1  # bgmn-w1
NAME = swarm_nodes.NODES[WORKER]
# A request nginx sent to a task on a node that went silent waits for its answer: proxy_read_timeout bounds it,
# then nginx resends it to the next task (idempotent requests). 4 s: above the slow class's 2 s, below the
# clients' 5 s timeout (tests/test_swarm_node_loss.py measured 1 or 2 of ~450 requests lost with nginx's 60 s).
SITE = ("server {\n    listen 80 default_server;\n"
        "    location / { proxy_pass http://bgc_backend; proxy_connect_timeout 1s; proxy_read_timeout 4s; }\n}\n"
        "include /etc/nginx/bg/conf.d/*.conf;\n")


class NodesStack(ChaosStack):
    repo = APP_REPO
    image = swarm_nodes.NGINX
    publish_ip = PUBLISH_IP

    def __init__(self, client: docker.DockerClient, workdir: Path, mode: str, tag: str) -> None:
        super().__init__(client, workdir, mode, tag)
        self.nodes = swarm_nodes.Nodes(swarm_nodes.engine(0), tuple(swarm_nodes.engine(i) for i in (1, 2)))
        self.killed: int | None = None  # the pid of the worker's dockerd this row killed

    def start(self) -> "NodesStack":
        self.client.networks.create(self.network, driver="overlay", attachable=True,
                                    labels={"bluegreen.bench": self.id})
        return self

    def up(self, *, health_timeout: str = "20s", config_tmpfs: bool = False) -> "NodesStack":
        return super().up(health_timeout=health_timeout, config_tmpfs=config_tmpfs)

    def site_conf(self) -> str:
        return SITE

    def write_config(self, health_timeout: str) -> None:
        write_backend_config(self.config_path, network=self.network, state_dir=self.state_dir,
                             nginx={"container": self.nginx_name, "public_url": self.url},
                             prefix=f"{self.name}-app", upstream="bgc_backend",
                             upstream_file="/etc/nginx/bg/conf.d/bgc_backend.upstream.conf",
                             health_timeout=health_timeout, request_timeout="1s", stop_timeout="3s",
                             restart="unless-stopped", runtime="swarm", replicas=4, endpoint_mode="dnsrr")


def _state(stack: NodesStack) -> tuple[str, str]:
    attrs = stack.client.nodes.get(NAME).attrs
    return attrs["Status"]["State"], attrs["Spec"]["Availability"]


def _availability(stack: NodesStack, value: str) -> None:
    node = stack.client.nodes.get(NAME)
    node.update(dict(node.attrs["Spec"], Availability=value))


def _on_worker(stack: NodesStack) -> dict[str, int]:
    """Tasks meant to run on the worker, per color (the candidate's are those the fault takes away mid-gate)."""
    node = stack.client.nodes.get(NAME).id
    return {color: sum(1 for t in stack.client.services.get(stack.container(color)).tasks()
                       if t.get("DesiredState") == "running" and t.get("NodeID") == node)
            for color in ("blue", "green")}


def _drain(stack: NodesStack) -> dict:
    before = _on_worker(stack)
    _availability(stack, "drain")
    return {"node": NAME, "tasks_on_it": before}


def _activate(stack: NodesStack) -> None:
    _availability(stack, "active")
    wait(lambda: _state(stack) == ("ready", "active"), 20, f"{NAME} active again")


def _kill(stack: NodesStack) -> dict:
    before = _on_worker(stack)
    stack.killed = stack.nodes.workers[WORKER - 1].pid()
    os.kill(stack.killed, signal.SIGKILL)
    seconds = wait(lambda: _state(stack)[0] == "down" and 1, 40, f"the manager marks {NAME} down")
    return {"node": NAME, "tasks_on_it": before, "marked_down": bool(seconds)}


def _rejoin(stack: NodesStack) -> None:
    swarm_nodes.rejoin(stack.nodes, WORKER, killed=stack.killed)
    stack.killed = None


def _give_back(stack: NodesStack) -> None:
    """After the row, whatever happened: the worker in the swarm, ready, active."""
    if stack.killed is not None:
        _rejoin(stack)
    if _state(stack) != ("ready", "active"):
        _activate(stack)


DEPLOY = ("deploy", "backend", "--image", f"{APP_REPO}:v3")
WATCHED = (*DEPLOY, "--monitor", "20s")  # N3, N4: the node leaves after the switch, as the monitor starts watching
WATCHING = "monitor.watching"


def named(act: Callable[[ChaosStack], Outcome]) -> Callable[[ChaosStack], Outcome]:
    """The row's outcome, with the line in which the deploy names the node it lost (none: it did not notice)."""
    def run(stack: ChaosStack) -> Outcome:
        outcome = act(stack)
        said = outcome.command.stdout + outcome.command.stderr if outcome.command else ""
        lines = [line.strip() for line in said.splitlines() if f"Node {NAME} left" in line]
        outcome.extra["node_named"] = lines[0][:300] if lines else None
        on = outcome.extra.get("tasks_on_it") or {}
        outcome.notes += [f"{NAME} ran blue {on.get('blue')}, green {on.get('green')} tasks as the fault went in; the "
                          f"deploy said: {lines[0][:200] if lines else 'nothing about the node'}"]
        return outcome
    return run


def rows() -> list[Row]:
    return [
        Row("N1", f"a worker drained while the new tasks are health-checked ({POINT}:pause; undo: active again)",
            named(paused(DEPLOY, POINT, _drain)), clear=_activate, modes=(MODE,), teardown=_give_back, stack=NodesStack),
        Row("N2", f"a worker's engine SIGKILLed while the new tasks are health-checked ({POINT}:pause, resumed "
                  "once the manager marks it down; undo: engine started, node ready)",
            named(paused(DEPLOY, POINT, _kill)), clear=_rejoin, modes=(MODE,), teardown=_give_back, stack=NodesStack),
        Row("N3", f"a worker drained after the switch, as `deploy --monitor 20s` starts watching ({WATCHING}:pause; "
                  "undo: active again)",
            named(paused(WATCHED, WATCHING, _drain)), clear=_activate, modes=(MODE,), teardown=_give_back,
            stack=NodesStack),
        Row("N4", f"a worker's engine SIGKILLed after the switch, as `deploy --monitor 20s` starts watching "
                  f"({WATCHING}:pause, resumed once the manager marks it down; undo: engine started, node ready)",
            named(paused(WATCHED, WATCHING, _kill)), clear=_rejoin, modes=(MODE,), teardown=_give_back,
            stack=NodesStack),
    ]
