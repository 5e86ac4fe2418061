"""What the runtime seam reports about one instance of a color (today: a container), as a plain value."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping


@dataclass(frozen=True)
class ContainerInfo:
    name: str
    id: str
    image: str
    state: str  # created / running / exited / ...
    health: str | None  # healthy / unhealthy / starting / None (no HEALTHCHECK)
    labels: Mapping[str, str] = field(default_factory=dict)
    ip: str | None = None  # on the service network
    exit_code: int | None = None
    image_id: str = ""  # sha256:… of the image it runs

    @property
    def running(self) -> bool:
        return self.state == "running"

    @property
    def ours(self) -> bool:
        """Started by bluegreen (a container an operator ran by hand has no bluegreen labels)."""
        return "bluegreen.service" in self.labels
