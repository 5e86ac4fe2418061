"""The runtime seam: start, stop and list a color's instances. Today: one Docker container per color, named
`<container_prefix>-<color>` as in the guide (`maice-back-blue`, `maice-back-green`).

Operations call this, never the Docker SDK: a runtime with replicas or Swarm services plugs in here.
"""

from __future__ import annotations

from typing import Mapping

from bluegreen.parts.containers import Docker
from bluegreen.parts.instance import ContainerInfo
from bluegreen.settings import Service


class ContainerRuntime:
    def __init__(self, docker: Docker, service: Service) -> None:
        self.docker, self.service = docker, service

    def name(self, color: str) -> str:
        return self.service.container(color)

    def instances(self, color: str) -> tuple[ContainerInfo, ...]:
        info = self.docker.inspect(self.name(color))
        return (info,) if info else ()

    def alive(self, color: str) -> bool:
        found = self.instances(color)
        return bool(found) and all(i.running for i in found)

    def address(self, info: ContainerInfo) -> str | None:
        """host:port where nginx (and the health gate) reach the instance."""
        return f"{info.ip}:{self.service.port}" if info.ip else None

    def has_image(self, image: str) -> bool:
        return self.docker.has_image(image)

    def ensure_image(self, image: str) -> None:
        self.docker.ensure_image(image)

    def start(self, color: str, *, image: str, env: Mapping[str, str],
              labels: Mapping[str, str]) -> tuple[ContainerInfo, ...]:
        svc = self.service
        info = self.docker.run(name=self.name(color), image=image, env=env, labels=labels,
                               volumes=svc.volumes, restart=svc.restart)
        return (info,)

    def remove(self, color: str, *, grace: float) -> bool:
        """Stop (SIGTERM, SIGKILL after `grace`) and remove the color's instances; False when there were none."""
        return self.docker.remove(self.name(color), stop_timeout=grace)

    # --- the previous version of the idle color, kept while a candidate takes its place ----------------------
    def kept_name(self, color: str) -> str:
        """A name nginx never uses (not `<prefix>-blue` / `<prefix>-green`)."""
        return f"{self.name(color)}-replaced"

    def set_aside(self, color: str, *, grace: float) -> bool:
        """Stop the color's instance and keep it under kept_name(color) until the candidate is through."""
        return self.docker.set_aside(self.name(color), self.kept_name(color), stop_timeout=grace)

    def put_back(self, color: str) -> bool:
        """The kept instance serves as the color again (renamed back, started)."""
        return self.docker.put_back(self.kept_name(color), self.name(color), restart=self.service.restart)

    def kept(self, color: str) -> ContainerInfo | None:
        return self.docker.inspect(self.kept_name(color))

    def discard_kept(self, color: str) -> bool:
        return self.docker.remove(self.kept_name(color), stop_timeout=0)

    # --- images -------------------------------------------------------------------------------------------
    def images(self, repository: str) -> list[tuple[str, tuple[str, ...], str]]:
        return self.docker.images(repository)

    def remove_image(self, ref: str) -> bool:
        return self.docker.remove_image(ref)

    def logs_tail(self, color: str, lines: int) -> list[str]:
        return self.docker.logs_tail(self.name(color), lines)
