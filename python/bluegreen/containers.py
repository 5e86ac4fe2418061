"""The only module that talks to the Docker engine (docker SDK).

Everything else sees plain values (`ContainerInfo`) and the bluegreen error tree, never SDK objects.
"""

from __future__ import annotations

import io
import tarfile
import time
from dataclasses import dataclass, field
from typing import Mapping

import docker
from docker.errors import APIError, DockerException, ImageNotFound, NotFound

from bluegreen.errors import DeployFailed, Unreachable

LABEL = "bluegreen"  # label namespace: bluegreen.service, bluegreen.color, bluegreen.image, ...


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

    @property
    def running(self) -> bool:
        return self.state == "running"


class Docker:
    """A thin, typed face of the engine for one network."""

    def __init__(self, network: str, client: docker.DockerClient | None = None) -> None:
        self.network = network
        try:
            self._client = client or docker.from_env(timeout=60)
            self._client.ping()
        except DockerException as exc:
            raise Unreachable("docker.unreachable", error=_one_line(exc)) from None

    # --- reading ---------------------------------------------------------------------------------------------
    def inspect(self, name: str) -> ContainerInfo | None:
        try:
            c = self._client.containers.get(name)
        except NotFound:
            return None
        except DockerException as exc:
            raise Unreachable("docker.unreachable", error=_one_line(exc)) from None
        attrs = c.attrs
        state = attrs.get("State", {})
        nets = attrs.get("NetworkSettings", {}).get("Networks", {}) or {}
        ip = (nets.get(self.network) or {}).get("IPAddress") or None
        return ContainerInfo(
            name=name, id=c.id, image=attrs.get("Config", {}).get("Image", ""),
            state=state.get("Status", "unknown"), health=(state.get("Health") or {}).get("Status"),
            labels=attrs.get("Config", {}).get("Labels") or {}, ip=ip, exit_code=state.get("ExitCode"),
        )

    def logs_tail(self, name: str, lines: int = 20) -> list[str]:
        try:
            raw = self._client.containers.get(name).logs(tail=lines, stdout=True, stderr=True)
        except DockerException:
            return []
        return raw.decode("utf-8", "replace").splitlines()[-lines:]

    def network_exists(self) -> bool:
        try:
            self._client.networks.get(self.network)
            return True
        except NotFound:
            return False

    # --- changing --------------------------------------------------------------------------------------------
    def ensure_image(self, ref: str) -> None:
        """Use a local image when present, else pull it (a registry the engine can reach)."""
        try:
            self._client.images.get(ref)
            return
        except ImageNotFound:
            pass
        try:
            self._client.images.pull(ref)
        except DockerException as exc:
            raise DeployFailed("docker.pull_failed", image=ref, error=_one_line(exc)) from None

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

    # --- inside a container (nginx) ---------------------------------------------------------------------------
    def exec(self, container: str, cmd: list[str]) -> tuple[int, str]:
        try:
            code, out = self._client.containers.get(container).exec_run(cmd, stdout=True, stderr=True)
        except NotFound:
            raise Unreachable("nginx.not_running", name=container) from None
        except APIError as exc:
            if "is not running" in str(exc):
                raise Unreachable("nginx.not_running", name=container) from None
            raise Unreachable("docker.unreachable", error=_one_line(exc)) from None
        return code, (out or b"").decode("utf-8", "replace")

    def read_file(self, container: str, path: str) -> str | None:
        try:
            stream, _ = self._client.containers.get(container).get_archive(path)
        except NotFound as exc:
            if "No such container" in str(exc):
                raise Unreachable("nginx.not_running", name=container) from None
            return None
        with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
            member = tar.next()
            data = tar.extractfile(member) if member else None
            return data.read().decode("utf-8") if data else None

    def write_files(self, container: str, directory: str, files: Mapping[str, str]) -> None:
        """Write files (base name → text) into one directory of the container in one API call."""
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            for base, text in files.items():
                data = text.encode("utf-8")
                info = tarfile.TarInfo(base)
                info.size, info.mode, info.mtime = len(data), 0o644, int(time.time())
                tar.addfile(info, io.BytesIO(data))
        try:
            self._client.containers.get(container).put_archive(directory or "/", buf.getvalue())
        except NotFound:
            raise Unreachable("nginx.not_running", name=container) from None

    def processes(self, container: str) -> list[tuple[str, str]]:
        """(pid, command line) of every process in the container, read by the engine (no tools needed)."""
        try:
            top = self._client.containers.get(container).top(ps_args="-o pid,args")
        except NotFound:
            raise Unreachable("nginx.not_running", name=container) from None
        except APIError as exc:
            raise Unreachable("nginx.not_running", name=container) if "is not running" in str(exc) else exc
        return [(row[0], row[-1]) for row in top.get("Processes") or []]

    def signal(self, container: str, sig: str) -> None:
        self._client.containers.get(container).kill(signal=sig)


def _one_line(exc: BaseException) -> str:
    text = getattr(exc, "explanation", None) or str(exc)
    return " ".join(str(text).split())[:300]
