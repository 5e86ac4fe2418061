"""What the runtime seam reports about one instance of a color (a container, or a Swarm task), as a plain value."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

RELEASE_LABEL = "bluegreen.release"  # one value per deploy, on every instance it started


@dataclass(frozen=True)
class ContainerInfo:
    name: str
    id: str
    image: str
    state: str  # created / running / exited / ... (a Swarm task: new / starting / running / failed / ...)
    health: str | None  # healthy / unhealthy / starting / None (no HEALTHCHECK, or not known: a Swarm task)
    labels: Mapping[str, str] = field(default_factory=dict)
    ip: str | None = None  # on the service network
    exit_code: int | None = None
    image_id: str = ""  # sha256:… of the image it runs
    node: str | None = None  # a Swarm task's node (its hostname)
    detail: str = ""  # why it is not running, when the runtime says (a Swarm task's error)

    @property
    def running(self) -> bool:
        return self.state == "running"

    @property
    def ours(self) -> bool:
        """Started by bluegreen (a container an operator ran by hand has no bluegreen labels)."""
        return "bluegreen.service" in self.labels

    @property
    def release(self) -> str:
        """Which deploy started it: the instances of one deploy share it, and the state remembers the release
        promoted per color. A container started before releases were labelled is its own release (its id)."""
        return self.labels.get(RELEASE_LABEL) or self.id


Instance = ContainerInfo  # the name the runtime seam speaks of


@dataclass(frozen=True)
class Server:
    """One host of an upstream `server` line: a container name, `tasks.<service>`, or a task's address."""

    host: str
    instance: str | None = None  # the instance an address belongs to (rendered beside it, read back as its color)
