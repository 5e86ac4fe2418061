"""The three-node Swarm of tests/swarm_nodes.py (a manager and two workers, each a Docker engine of the tests' own
in its own network namespace, and the registry on the manager), brought up for a bench run and removed after it.

Both benches (`zero_downtime_bench.py --nodes`, `chaos_bench.py --nodes`) run inside `swarm(log)`: it holds the
fixture's lock (/run/bgmn.lock: one holder of the bgmn-* names at a time), brings the nodes up, and points
everything the run starts at them: DOCKER_HOST names the manager's engine (the bench's Docker client and every
`bluegreen` it runs), BENCH_LOAD_HOST the manager's address (nginx is published there; zdt/load.py sends the load
to it). The machine's own engine only lends the test images.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import Callable, Iterator

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import swarm_nodes  # noqa: E402  (the fixture itself: tests/swarm_nodes.py)

APP_REPO = swarm_nodes.registry_ref("bluegreen-test/app")  # the releases as the nodes pull them
PUBLISH_IP = swarm_nodes.MANAGER_ADDRESS


@contextlib.contextmanager
def swarm(log: Callable[[str], None]) -> Iterator[swarm_nodes.Nodes]:
    saved = {k: os.environ.get(k) for k in ("DOCKER_HOST", "BENCH_LOAD_HOST")}
    with swarm_nodes.exclusive():
        try:
            log("three-node Swarm: up (tests/swarm_nodes.py: bgmn-mgr, bgmn-w1, bgmn-w2, registry on "
                f"{swarm_nodes.REGISTRY})")
            nodes = swarm_nodes.up()
            os.environ.update(DOCKER_HOST=nodes.host, BENCH_LOAD_HOST=PUBLISH_IP)
            yield nodes
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
            problems = swarm_nodes.clear()
            log("three-node Swarm: removed" + (f" (problems: {problems})" if problems else ""))
