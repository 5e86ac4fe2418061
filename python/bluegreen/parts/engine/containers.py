"""Containers: reading them (inspect, find, facts) and changing them (run, remove, set aside, put back)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from docker.errors import DockerException, NotFound

from bluegreen.errors import DeployFailed
from bluegreen.parts.engine.base import _Base, _one_line, each, unreachable
from bluegreen.parts.instance import ContainerInfo


@dataclass(frozen=True)
class ContainerFacts:
    """What `bluegreen init` and `doctor` read of a container (never an environment variable's value)."""

    name: str
    id: str
    image: str
    running: bool
    restart: str  # the restart policy: "no", "always", "unless-stopped", "on-failure"
    networks: tuple[str, ...]
    published: tuple[tuple[str, str, str], ...]  # (container port "80/tcp", host ip, host port)
    mounts: tuple[tuple[str, str, str], ...]  # (type "bind"/"volume", host source, destination in the container)
    env_names: tuple[str, ...]  # names only: the values may be secrets
    labels: Mapping[str, str]
    pid_host: bool = False  # runs in the host's PID namespace (--pid=host)
    pid: int = 0  # its main process (PID 1 inside it) as this host sees it; 0 when it does not run
    volumes: tuple[str, ...] = ()  # its mounts as `docker run -v` takes them: `source:target[:ro]`, a volume by name


@dataclass(frozen=True)
class EngineFacts:
    version: str
    live_restore: bool
    swarm_manager: bool


class _Containers(_Base):
    def inspect(self, name: str) -> ContainerInfo | None:
        try:
            c = self._client.containers.get(name)
        except NotFound:
            return None
        except DockerException as exc:
            raise unreachable(exc) from None
        return self._info(name, c.attrs)

    def find(self, pattern: str) -> list[ContainerInfo]:
        """Every container (running or not) whose name matches `pattern` (a regular expression over the whole
        name, without the engine's leading slash), sorted by name: one list request, then one inspect each."""
        try:
            found = self._client.api.containers(all=True, filters={"name": f"^/{pattern}$"})
            names = sorted(n.lstrip("/") for c in found for n in c.get("Names") or [] if n.count("/") == 1)
        except DockerException as exc:
            raise unreachable(exc) from None
        return [info for info in map(self.inspect, names) if info is not None]

    def _info(self, name: str, attrs: dict) -> ContainerInfo:
        state = attrs.get("State", {})
        nets = attrs.get("NetworkSettings", {}).get("Networks", {}) or {}
        ip = (nets.get(self.network) or {}).get("IPAddress") or None
        return ContainerInfo(
            name=name, id=attrs.get("Id", ""), image=attrs.get("Config", {}).get("Image", ""),
            state=state.get("Status", "unknown"), health=(state.get("Health") or {}).get("Status"),
            labels=attrs.get("Config", {}).get("Labels") or {}, ip=ip, exit_code=state.get("ExitCode"),
            image_id=attrs.get("Image", ""),
        )

    def facts(self, name: str) -> ContainerFacts | None:
        """The container's settings as `init` and `doctor` need them; None when there is none by that name."""
        try:
            attrs = self._client.containers.get(name).attrs
        except NotFound:
            return None
        except DockerException as exc:
            raise unreachable(exc) from None
        config, host = attrs.get("Config") or {}, attrs.get("HostConfig") or {}
        ports = (attrs.get("NetworkSettings") or {}).get("Ports") or {}
        return ContainerFacts(
            name=name, id=attrs.get("Id", ""), image=config.get("Image", ""),
            running=(attrs.get("State") or {}).get("Status") == "running",
            restart=((host.get("RestartPolicy") or {}).get("Name") or "no"),
            networks=tuple(sorted(((attrs.get("NetworkSettings") or {}).get("Networks") or {}))),
            published=tuple((port, b.get("HostIp", ""), b.get("HostPort", ""))
                            for port, bindings in sorted(ports.items()) for b in (bindings or [])),
            mounts=tuple((m.get("Type", ""), m.get("Source", ""), m.get("Destination", ""))
                         for m in attrs.get("Mounts") or []),
            env_names=tuple(e.partition("=")[0] for e in config.get("Env") or []),
            labels=config.get("Labels") or {}, pid_host=host.get("PidMode") == "host",
            pid=int((attrs.get("State") or {}).get("Pid") or 0),
            volumes=tuple(f"{m.get('Name') if m.get('Type') == 'volume' else m.get('Source', '')}:"
                          f"{m.get('Destination', '')}{'' if m.get('RW', True) else ':ro'}"
                          for m in attrs.get("Mounts") or [] if m.get("Type") in ("bind", "volume")))

    def names(self) -> list[str]:
        """Every container's name (running or not)."""
        try:
            return sorted(n.lstrip("/") for c in self._client.api.containers(all=True)
                          for n in c.get("Names") or [] if n.count("/") == 1)
        except DockerException as exc:
            raise unreachable(exc) from None

    def engine(self) -> EngineFacts:
        try:
            info = self._client.info()
        except DockerException as exc:
            raise unreachable(exc) from None
        swarm = info.get("Swarm") or {}
        return EngineFacts(version=str(info.get("ServerVersion", "")), live_restore=bool(info.get("LiveRestoreEnabled")),
                           swarm_manager=swarm.get("LocalNodeState") == "active" and bool(swarm.get("ControlAvailable")))

    def run(self, *, name: str, image: str, env: Mapping[str, str], labels: Mapping[str, str],
            volumes: tuple[str, ...], restart: str | None) -> ContainerInfo:
        """Create and start a container on the network. Env goes through the API body, never argv."""
        policy = {"Name": restart} if restart and restart != "no" else None
        try:
            c = self._client.containers.run(
                image, name=name, detach=True, environment=dict(env), labels=dict(labels),
                network=self.network, volumes=list(volumes), restart_policy=policy,
                stop_signal="SIGTERM",
            )
        except DockerException as exc:
            raise DeployFailed("docker.run_failed", name=name, error=_one_line(exc)) from None
        info = self.inspect(c.name)
        assert info is not None
        return info

    def ask_to_stop(self, name: str) -> tuple[int, str] | None:
        """Send the container its stop signal (SIGTERM unless its image says otherwise) and nothing more: the app
        finishes what it is answering while bluegreen watches (parts/drain.py). Its (pid on this host, id); None
        when it does not run. The kill API marks it stopped by hand, so a restart policy does not start it again
        when it exits by itself (measured: `restart: always`, exit 0, stays exited)."""
        try:
            c = self._client.containers.get(name)
            if c.status != "running":
                return None
            pid = int((c.attrs.get("State") or {}).get("Pid") or 0)
            c.kill(signal=(c.attrs.get("Config") or {}).get("StopSignal") or "SIGTERM")
        except NotFound:
            return None
        except DockerException as exc:
            if "is not running" in str(exc):
                return None
            raise DeployFailed("docker.remove_failed", name=name, error=_one_line(exc)) from None
        return pid, c.id

    def remove(self, name: str, *, stop_timeout: float) -> bool:
        """Stop gracefully (SIGTERM, then SIGKILL after the grace) and remove. False when absent."""
        try:
            c = self._client.containers.get(name)
        except NotFound:
            return False
        try:
            if c.status == "running":
                c.stop(timeout=int(stop_timeout))
            c.remove(force=True)
        except NotFound:
            return False
        except DockerException as exc:
            raise DeployFailed("docker.remove_failed", name=name, error=_one_line(exc)) from None
        return True

    def remove_all(self, names: list[str], *, stop_timeout: float) -> int:
        """`remove` each at once (their grace runs in parallel, not one after the other); how many there were."""
        return sum(each(lambda name: self.remove(name, stop_timeout=stop_timeout), names))

    def set_aside_all(self, pairs: list[tuple[str, str]], *, stop_timeout: float) -> None:
        """`set_aside` each (name, new name) at once: their grace runs in parallel."""
        each(lambda pair: self.set_aside(pair[0], pair[1], stop_timeout=stop_timeout), pairs)

    def set_aside(self, name: str, new_name: str, *, stop_timeout: float) -> bool:
        """Stop `name` and keep it as `new_name` (restart policy off, so a daemon restart leaves it stopped);
        False when there is no `name`. An older `new_name` is removed first."""
        try:
            c = self._client.containers.get(name)
        except NotFound:
            return False
        try:
            self.remove(new_name, stop_timeout=0)
            if c.status == "running":
                c.stop(timeout=int(stop_timeout))
            c.update(restart_policy={"Name": "no"})
            c.rename(new_name)
        except DockerException as exc:
            raise DeployFailed("docker.set_aside_failed", name=name, error=_one_line(exc)) from None
        return True

    def put_back(self, kept: str, name: str, *, restart: str | None) -> bool:
        """Rename `kept` back to `name`, restore its restart policy and start it; False when there is none."""
        try:
            c = self._client.containers.get(kept)
        except NotFound:
            return False
        try:
            c.rename(name)
            if restart and restart != "no":
                c.update(restart_policy={"Name": restart})
            c.start()
        except DockerException as exc:
            raise DeployFailed("docker.put_back_failed", name=name, error=_one_line(exc)) from None
        return True
