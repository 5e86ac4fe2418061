"""After the engine starts again, wait (bounded) for what Docker is still bringing back, instead of failing.

A reboot (an engine start without live-restore) stops every container, then the engine starts, before it answers,
each one whose restart policy says so, all at once. One that exits at once — nginx whose upstream names a container
that is not up yet ("host not found in upstream") — is retried by Docker with its back-off (0.1 s, doubling), and
shows as `restarting` meanwhile. A command that arrives then (a Jenkins agent starting a deploy as soon as the host is
up) would see nginx "not running" and exit 6; the engine will have it running a moment later. So a look that finds
nginx or a serving color down asks the engine whether it is `restarting`, and if so looks again until it is not, up
to `WITHIN` seconds (operations/frame.py, Scene.look); a container that is stopped and stays so is not waited for:
the look reports it at once, as before.
"""

from __future__ import annotations

from typing import Protocol, Sequence

from bluegreen.parts.instance import ContainerInfo

RESTARTING = "restarting"  # the engine's state of a container between two tries of its restart policy
WITHIN = 30.0  # seconds: Docker's back-off reaches 12.8 s after 8 failed tries; a reboot's race ends in the first few
POLL = 0.2


class Engine(Protocol):  # parts/engine.Docker
    def inspect(self, name: str) -> ContainerInfo | None: ...


def restarting(docker: Engine, names: Sequence[str]) -> list[str]:
    """Those of `names` the engine is restarting by their policy (absent or stopped ones are not)."""
    found = []
    for name in dict.fromkeys(names):
        info = docker.inspect(name)
        if info is not None and info.state == RESTARTING:
            found.append(name)
    return found
