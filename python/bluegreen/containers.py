"""The only module that talks to the Docker engine (docker SDK).

Everything else sees plain values (`ContainerInfo`) and the bluegreen error tree, never SDK objects.
"""

from __future__ import annotations

import io
import socket
import tarfile
from dataclasses import dataclass, field
from typing import Mapping

import docker
from docker.errors import APIError, DockerException, ImageNotFound, NotFound
from docker.utils.socket import frames_iter

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

    # --- changing --------------------------------------------------------------------------------------------
    def has_image(self, ref: str) -> bool:
        try:
            self._client.images.get(ref)
            return True
        except ImageNotFound:
            return False

    def ensure_image(self, ref: str) -> None:
        """Use a local image when present, else pull it (a registry the engine can reach)."""
        if self.has_image(ref):
            return
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
    def exec(self, container: str, cmd: list[str], stdin: bytes | None = None) -> tuple[int, str]:
        """Run `cmd` in the container; `stdin` is fed to it (one API round trip instead of an upload + an exec)."""
        try:
            if stdin is None:
                code, out = self._client.containers.get(container).exec_run(cmd, stdout=True, stderr=True)
            else:
                code, out = self._exec_with_input(container, cmd, stdin)
        except NotFound:
            raise Unreachable("nginx.not_running", name=container) from None
        except APIError as exc:
            if "is not running" in str(exc):
                raise Unreachable("nginx.not_running", name=container) from None
            raise Unreachable("docker.unreachable", error=_one_line(exc)) from None
        return code, (out or b"").decode("utf-8", "replace")

    def _exec_with_input(self, container: str, cmd: list[str], data: bytes) -> tuple[int, bytes]:
        api = self._client.api
        exec_id = api.exec_create(container, cmd, stdin=True, stdout=True, stderr=True)["Id"]
        sock = api.exec_start(exec_id, socket=True)
        try:
            raw = getattr(sock, "_sock", sock)
            raw.sendall(data)
            raw.shutdown(socket.SHUT_WR)  # end of input: the command sees EOF
            out = b"".join(chunk for _, chunk in frames_iter(sock, tty=False))
        finally:
            sock.close()
        return api.exec_inspect(exec_id)["ExitCode"], out

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

    # --- nginx's access log, read incrementally by post-deploy monitoring -------------------------------------
    def read_from(self, container: str, path: str, offset: int, limit: int) -> tuple[int, bytes] | None:
        """Up to `limit` bytes of a file in the container from `offset` (-1: its last `limit` bytes; past the end:
        the file shrank, from 0), as (start offset, bytes); None when it is not a regular file."""
        try:
            code, (out, _) = self._client.containers.get(container).exec_run(
                ["sh", "-c", _READ_FROM, "bluegreen", path, str(offset), str(limit)], demux=True)
        except NotFound:
            raise Unreachable("nginx.not_running", name=container) from None
        except APIError as exc:
            raise Unreachable("docker.unreachable", error=_one_line(exc)) from None
        head, _, data = (out or b"").partition(b"\n")
        if code != 0 or not head.strip().isdigit():
            return None
        return int(head), data

    def log_lines(self, container: str, *, since: float | None, tail: int) -> list[tuple[str, str]] | None:
        """The container's stdout lines as (timestamp, text), newest `tail`, after `since` (epoch seconds);
        None when its logging driver cannot be read back."""
        try:
            raw = self._client.containers.get(container).logs(stdout=True, stderr=False, timestamps=True,
                                                              tail=tail, since=since)
        except NotFound:
            raise Unreachable("nginx.not_running", name=container) from None
        except APIError:
            return None
        return [(stamp, text) for stamp, _, text in
                (line.partition(" ") for line in raw.decode("utf-8", "replace").splitlines())]


# Reads a byte range without reading the file from its start: dd seeks to the block, tail trims within it.
_READ_FROM = """[ -f "$1" ] || exit 3
size=$(wc -c < "$1") || exit 3
from=$2
if [ "$from" -lt 0 ]; then from=$((size - $3)); [ "$from" -lt 0 ] && from=0; fi
if [ "$from" -gt "$size" ]; then from=0; fi
n=$((size - from)); [ "$n" -gt "$3" ] && n=$3
echo "$from"
dd if="$1" bs=65536 skip=$((from / 65536)) 2>/dev/null | tail -c +$((from % 65536 + 1)) | head -c "$n"
"""


def _one_line(exc: BaseException) -> str:
    text = getattr(exc, "explanation", None) or str(exc)
    return " ".join(str(text).split())[:300]
