"""The runtime seam: start, stop, list and probe a color's instances. Operations call this, never the Docker SDK.

Two runtimes plug in here (commands.py picks one from `runtime:` in bluegreen.yml):
- `ContainerRuntime` (below): Docker containers on this host, reached by name on the Docker network — one per
  color named `<container_prefix>-<color>` as in the guide (`maice-back-blue`), or with `replicas: N`,
  `<container_prefix>-<color>-1` … `-N`;
- `SwarmRuntime` (swarm.py): a Swarm service per color, `<container_prefix>-<color>`, with N tasks on an overlay
  network, probed from inside the overlay.

What a runtime gives the upstream file is `servers(color)`: the `server` lines' hosts (and, when nginx must
resolve names itself, `resolver`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, Mapping, Protocol, Sequence

from bluegreen.clock import REAL
from bluegreen.parts import health
from bluegreen.parts.drain import Drained, Progress as DrainProgress, drain
from bluegreen.parts.engine import Docker, each
from bluegreen.parts.health import Probe
from bluegreen.parts.instance import ContainerInfo, Server
from bluegreen.config.settings import COLORS, Service

KEPT_SUFFIX = "-replaced"  # a previous version set aside while a candidate takes its place: a name nginx never uses


@dataclass(frozen=True)
class Survey:
    """Every instance of both colors and the versions kept aside, from as few engine requests as possible."""

    instances: Mapping[str, tuple[ContainerInfo, ...]]
    kept: Mapping[str, ContainerInfo] = field(default_factory=dict)
    problems: tuple[tuple[str, dict[str, str]], ...] = ()  # (message key, parameters): what the runtime sees wrong


Progress = Callable[[str, Mapping[str, str]], None]  # (message key, parameters): a runtime's progress line


class Runtime(Protocol):
    """What operations may ask of a runtime."""

    kind: str  # "containers" | "swarm"
    service: Service
    resolver: str | None  # `resolver` for nginx when servers are names it resolves at run time
    renders_addresses: bool  # servers are the instances' addresses (they go stale when an instance is replaced)

    def survey(self) -> Survey: ...
    def instances(self, color: str) -> tuple[ContainerInfo, ...]: ...
    def alive(self, color: str) -> bool: ...
    def address(self, info: ContainerInfo) -> str | None: ...
    def servers(self, color: str) -> tuple[Server, ...]: ...
    def servers_of(self, found: Sequence[ContainerInfo]) -> tuple[Server, ...]: ...
    def probe(self, info: ContainerInfo, path: str) -> Probe: ...
    def probe_all(self, found: Sequence[ContainerInfo], path: str) -> list[Probe]: ...
    def display(self, color: str) -> str: ...
    def preflight(self, image: str) -> None: ...
    def has_image(self, image: str) -> bool: ...
    def recreatable(self, info: ContainerInfo) -> bool: ...
    def ensure_image(self, image: str) -> None: ...
    def start(self, color: str, *, image: str, env: Mapping[str, str], labels: Mapping[str, str],
              progress: Progress = ...) -> tuple[ContainerInfo, ...]: ...
    def drain(self, color: str, *, timeout: float, progress: DrainProgress) -> Drained: ...
    def remove(self, color: str, *, grace: float) -> bool: ...
    def remove_instances(self, found: Sequence[ContainerInfo], *, grace: float) -> bool: ...
    def kept_name(self, color: str) -> str: ...
    def set_aside(self, color: str, *, grace: float) -> bool: ...
    def put_back(self, color: str) -> bool: ...
    def kept(self, color: str) -> ContainerInfo | None: ...
    def discard_kept(self, color: str) -> bool: ...
    def images(self, repository: str) -> list[tuple[str, tuple[str, ...], str]]: ...
    def remove_image(self, ref: str) -> bool: ...
    def logs_tail(self, color: str, lines: int) -> list[str]: ...


def _quiet(key: str, params: Mapping[str, str]) -> None:
    pass


class ContainerRuntime:
    kind = "containers"
    resolver = None  # nginx resolves container names when it loads the file (docs/facts.md 4)
    renders_addresses = False

    def __init__(self, docker: Docker, service: Service) -> None:
        self.docker, self.service = docker, service
        self.network = docker.network  # where nginx and the health gate reach the containers
        self.replicas = service.scale.replicas
        # Every container of the service, whatever `replicas` was when it started: `<prefix>-<color>`,
        # `<prefix>-<color>-<n>`, each possibly kept aside as `…-replaced`.
        prefix = re.escape(service.container_prefix)
        self._all = f"{prefix}-(?:blue|green)(?:-[0-9]{{1,3}})?(?:{KEPT_SUFFIX})?"

    def name(self, color: str) -> str:
        return self.service.container(color)

    def names(self, color: str) -> list[str]:
        """The containers a deploy starts for the color: the guide's name alone, or one per replica."""
        return [self.service.replica(color, i) for i in range(1, self.replicas + 1)]

    def display(self, color: str) -> str:
        """The color's containers in one name, for messages: `maice-back-blue`, `maice-back-blue-{1..3}`."""
        return self.name(color) if self.replicas == 1 else f"{self.name(color)}-{{1..{self.replicas}}}"

    # --- reading ---------------------------------------------------------------------------------------------
    def survey(self) -> Survey:
        """Both colors and their kept versions from one list request (and one inspect per container)."""
        instances: dict[str, list[ContainerInfo]] = {c: [] for c in COLORS}
        kept: dict[str, ContainerInfo] = {}
        for info in self.docker.find(self._all):
            base = info.name[: -len(KEPT_SUFFIX)] if info.name.endswith(KEPT_SUFFIX) else info.name
            color = self.service.color_of(base)
            if color is None:
                continue
            if base == info.name:
                instances[color].append(info)
            else:
                kept.setdefault(color, info)
        return Survey({c: tuple(found) for c, found in instances.items()}, kept)

    def instances(self, color: str) -> tuple[ContainerInfo, ...]:
        if self.replicas == 1:  # the guide's setup: one request, as before replicas existed
            info = self.docker.inspect(self.name(color))
            return (info,) if info else ()
        return self.survey().instances[color]

    def alive(self, color: str) -> bool:
        found = self.instances(color)
        return bool(found) and all(i.running for i in found)

    def address(self, info: ContainerInfo) -> str | None:
        """host:port where nginx (and the health gate) reach the instance."""
        return f"{info.ip}:{self.service.port}" if info.ip else None

    def servers(self, color: str) -> tuple[Server, ...]:
        """What nginx names for the color: the container(s) by name, resolved by nginx when it loads the file.
        With replicas, only those that run (a name that does not resolve fails `nginx -t`: docs/facts.md 4)."""
        if self.replicas == 1:
            return (Server(self.name(color)),)
        return self.servers_of(self.instances(color))

    def servers_of(self, found: Sequence[ContainerInfo]) -> tuple[Server, ...]:
        return tuple(Server(i.name) for i in found if i.running)

    def probe(self, info: ContainerInfo, path: str) -> Probe:
        return self.probe_all([info], path)[0]

    def probe_all(self, found: Sequence[ContainerInfo], path: str) -> list[Probe]:
        """From this host over the Docker network (a bridge network is routable from the host)."""
        addresses = [self.address(i) for i in found]
        urls = [f"http://{a}{path}" for a in addresses if a]
        probes = iter(health.probe_all(urls, self.service.health))
        return [next(probes) if a else Probe(False, detail="no address on the network") for a in addresses]

    # --- changing --------------------------------------------------------------------------------------------
    def preflight(self, image: str) -> None:
        """Nothing to check on one host: the image is looked up (or pulled) when the candidate starts."""

    def has_image(self, image: str) -> bool:
        return self.docker.has_image(image)

    def recreatable(self, info: ContainerInfo) -> bool:
        """The instance's image is still here (a container that exits could be started again from it)."""
        image = info.labels.get("bluegreen.image")
        return not image or self.docker.has_image(image)

    def ensure_image(self, image: str) -> None:
        self.docker.ensure_image(image)

    def start(self, color: str, *, image: str, env: Mapping[str, str], labels: Mapping[str, str],
              progress: Progress = _quiet) -> tuple[ContainerInfo, ...]:
        svc = self.service
        return tuple(each(lambda name: self.docker.run(name=name, image=image, env=env, labels=labels,
                                                       volumes=svc.volumes, restart=svc.restart), self.names(color)))

    def drain(self, color: str, *, timeout: float, progress: DrainProgress) -> Drained:
        """Ask the color's instances to stop and wait while they still answer requests (parts/drain.py)."""
        names = [i.name for i in self.survey().instances[color]]
        return drain(self.docker, names, port=self.service.port, timeout=timeout, clock=REAL, progress=progress)

    def remove(self, color: str, *, grace: float) -> bool:
        """Stop (SIGTERM, SIGKILL after `grace`) and remove the color's instances — all of them, also those a
        config with another `replicas` started; False when there were none."""
        return self.docker.remove_all([i.name for i in self.survey().instances[color]], stop_timeout=grace) > 0

    def remove_instances(self, found: Sequence[ContainerInfo], *, grace: float) -> bool:
        self.docker.remove_all([i.name for i in found], stop_timeout=grace)
        return True

    # --- the previous version of the idle color, kept while a candidate takes its place ----------------------
    def kept_name(self, color: str) -> str:
        """A name nginx never uses (not `<prefix>-blue` / `<prefix>-green`)."""
        return f"{self.display(color)}{KEPT_SUFFIX}" if self.replicas > 1 else f"{self.name(color)}{KEPT_SUFFIX}"

    def set_aside(self, color: str, *, grace: float) -> bool:
        """Stop the color's instances and keep each under `<its name>-replaced` until the candidate is through."""
        found = self.survey().instances[color]
        self.docker.set_aside_all([(i.name, i.name + KEPT_SUFFIX) for i in found], stop_timeout=grace)
        return bool(found)

    def put_back(self, color: str) -> bool:
        """The kept instances serve as the color again (renamed back, started)."""
        kept = self._kept_all(color)
        each(lambda info: self.docker.put_back(info.name, info.name[: -len(KEPT_SUFFIX)],
                                               restart=self.service.restart), kept)
        return bool(kept)

    def kept(self, color: str) -> ContainerInfo | None:
        """The kept version of the color (its first instance: they all run the same image), or None."""
        if self.replicas == 1:
            return self.docker.inspect(self.name(color) + KEPT_SUFFIX)
        return next(iter(self._kept_all(color)), None)

    def _kept_all(self, color: str) -> list[ContainerInfo]:
        return self.docker.find(f"{re.escape(self.name(color))}(?:-[0-9]{{1,3}})?{KEPT_SUFFIX}")

    def discard_kept(self, color: str) -> bool:
        return self.docker.remove_all([i.name for i in self._kept_all(color)], stop_timeout=0) > 0

    # --- images -------------------------------------------------------------------------------------------
    def images(self, repository: str) -> list[tuple[str, tuple[str, ...], str]]:
        return self.docker.images(repository)

    def remove_image(self, ref: str) -> bool:
        return self.docker.remove_image(ref)

    def logs_tail(self, color: str, lines: int) -> list[str]:
        if self.replicas == 1:
            return self.docker.logs_tail(self.name(color), lines)
        return [f"{info.name}: {line}" for info in self.survey().instances[color]
                for line in self.docker.logs_tail(info.name, max(5, lines // self.replicas))]
