"""The only module that talks to the Docker engine (docker SDK).

Everything else sees plain values (`ContainerInfo`) and the bluegreen error tree, never SDK objects.
"""

from __future__ import annotations

import io
import posixpath
import re
import socket
import tarfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Callable, Mapping, TypeVar

import docker
from docker.errors import APIError, DockerException, ImageNotFound, NotFound
from docker.utils.socket import frames_iter

from bluegreen.errors import DeployFailed, Unreachable
from bluegreen.parts.instance import ContainerInfo

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class Process:
    pid: str
    age: float  # seconds since it started (whole seconds: what `ps -o etimes` gives)
    args: str


@dataclass(frozen=True)
class FileRead:
    text: str | None  # None: no such file
    mtime: float | None = None  # epoch seconds, nanosecond precision when the engine gives it


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
        return self._info(name, c.attrs)

    def find(self, pattern: str) -> list[ContainerInfo]:
        """Every container (running or not) whose name matches `pattern` (a regular expression over the whole
        name, without the engine's leading slash), sorted by name: one list request, then one inspect each."""
        try:
            found = self._client.api.containers(all=True, filters={"name": f"^/{pattern}$"})
            names = sorted(n.lstrip("/") for c in found for n in c.get("Names") or [] if n.count("/") == 1)
        except DockerException as exc:
            raise Unreachable("docker.unreachable", error=_one_line(exc)) from None
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
            raise Unreachable("docker.unreachable", error=_one_line(exc)) from None
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

    def image_env_names(self, ref: str) -> tuple[str, ...]:
        """The names of the variables an image sets itself (its ENV lines): a container shows them among its own."""
        try:
            config = self._client.images.get(ref).attrs.get("Config") or {}
        except ImageNotFound:
            return ()
        except DockerException as exc:
            raise Unreachable("docker.unreachable", error=_one_line(exc)) from None
        return tuple(e.partition("=")[0] for e in config.get("Env") or [])

    def names(self) -> list[str]:
        """Every container's name (running or not)."""
        try:
            return sorted(n.lstrip("/") for c in self._client.api.containers(all=True)
                          for n in c.get("Names") or [] if n.count("/") == 1)
        except DockerException as exc:
            raise Unreachable("docker.unreachable", error=_one_line(exc)) from None

    def engine(self) -> EngineFacts:
        try:
            info = self._client.info()
        except DockerException as exc:
            raise Unreachable("docker.unreachable", error=_one_line(exc)) from None
        swarm = info.get("Swarm") or {}
        return EngineFacts(version=str(info.get("ServerVersion", "")), live_restore=bool(info.get("LiveRestoreEnabled")),
                           swarm_manager=swarm.get("LocalNodeState") == "active" and bool(swarm.get("ControlAvailable")))

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

    # --- images ------------------------------------------------------------------------------------------------
    def images(self, repository: str) -> list[tuple[str, tuple[str, ...], str]]:
        """(image id, tags, created) of the local images of `repository`."""
        try:
            found = self._client.images.list(name=repository)
        except DockerException as exc:
            raise Unreachable("docker.unreachable", error=_one_line(exc)) from None
        return [(i.id, tuple(i.tags), str(i.attrs.get("Created", ""))) for i in found]

    def remove_image(self, ref: str) -> bool:
        """Remove an image tag (never forced: an image a container uses stays); False when it is in use."""
        try:
            self._client.images.remove(ref, noprune=False)
        except ImageNotFound:
            return True
        except APIError as exc:
            if exc.status_code == 409:
                return False
            raise Unreachable("docker.unreachable", error=_one_line(exc)) from None
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
            if _not_running(exc):
                raise Unreachable("nginx.not_running", name=container) from None
            raise Unreachable("docker.unreachable", error=_one_line(exc)) from None
        return code, (out or b"").decode("utf-8", "replace")

    def exec_split(self, container: str, cmd: list[str]) -> tuple[int, str, str]:
        """Run `cmd` in the container: (exit code, stdout, stderr) apart (`nginx -T` prints its dump on stdout and
        its verdict on stderr)."""
        try:
            code, (out, err) = self._client.containers.get(container).exec_run(cmd, stdout=True, stderr=True,
                                                                                demux=True)
        except NotFound:
            raise Unreachable("nginx.not_running", name=container) from None
        except APIError as exc:
            if _not_running(exc):
                raise Unreachable("nginx.not_running", name=container) from None
            raise Unreachable("docker.unreachable", error=_one_line(exc)) from None
        return code, (out or b"").decode("utf-8", "replace"), (err or b"").decode("utf-8", "replace")

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

    def read_file(self, container: str, path: str, *, _links: int = 8) -> FileRead:
        """A file inside a container, with its modification time (from the engine's path stat). A symbolic link is
        followed inside the container, as nginx reads it (the engine's archive holds the link, not its target)."""
        try:
            stream, stat = self._client.containers.get(container).get_archive(path)
        except NotFound as exc:
            if "No such container" in str(exc):
                raise Unreachable("nginx.not_running", name=container) from None
            return FileRead(None)
        except DockerException as exc:
            raise Unreachable("docker.unreachable", error=_one_line(exc)) from None
        with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
            member = tar.next()
            if member is not None and member.issym():
                if _links == 0:
                    return FileRead(None)  # a loop of links: nginx cannot read it either
                return self.read_file(container, posixpath.join(posixpath.dirname(path), member.linkname),
                                      _links=_links - 1)
            data = tar.extractfile(member) if member is not None and member.isreg() else None
            if data is None:
                return FileRead(None)
            # Not UTF-8 (a hand edit in latin-1): still readable, and never equal to a file bluegreen wrote.
            text = data.read().decode("utf-8", "replace")
        mtime = _rfc3339(str((stat or {}).get("mtime", "")))
        return FileRead(text, mtime if mtime is not None else float(member.mtime))

    def processes(self, container: str) -> list[Process]:
        """Every process in the container with its age, read by the engine (no tools needed in the container)."""
        try:
            top = self._client.containers.get(container).top(ps_args="-o pid,etimes,args")
        except NotFound:
            raise Unreachable("nginx.not_running", name=container) from None
        except APIError as exc:
            if _not_running(exc):
                raise Unreachable("nginx.not_running", name=container) from None
            raise Unreachable("docker.unreachable", error=_one_line(exc)) from None
        found = []
        for row in top.get("Processes") or []:
            age = row[1] if len(row) >= 3 else ""
            found.append(Process(row[0], float(age) if age.isdigit() else 0.0, row[-1]))
        return found

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
            if _not_running(exc):
                raise Unreachable("nginx.not_running", name=container) from None
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


    # --- Swarm: services on an overlay network (swarm.py builds the specs, as the Engine API's JSON) --------
    def swarm(self) -> tuple[bool, int]:
        """(this engine is a Swarm manager, how many nodes the swarm has)."""
        try:
            info = self._client.info().get("Swarm") or {}
        except DockerException as exc:
            raise Unreachable("docker.unreachable", error=_one_line(exc)) from None
        manager = info.get("LocalNodeState") == "active" and bool(info.get("ControlAvailable"))
        return manager, int(info.get("Nodes") or 0)

    def network_info(self, name: str) -> dict | None:
        """The network's driver, scope, attachable flag…; None when there is none by that name."""
        try:
            return self._client.api.inspect_network(name)
        except NotFound:
            return None
        except DockerException as exc:
            raise Unreachable("docker.unreachable", error=_one_line(exc)) from None

    def attached(self, container: str) -> bool:
        """The container is attached to this Docker's network."""
        try:
            nets = self._client.containers.get(container).attrs.get("NetworkSettings", {}).get("Networks") or {}
        except NotFound:
            raise Unreachable("nginx.not_running", name=container) from None
        except DockerException as exc:
            raise Unreachable("docker.unreachable", error=_one_line(exc)) from None
        return self.network in nets or any(n.get("NetworkID") == self.network for n in nets.values())

    def image_refs(self, ref: str) -> tuple[str, tuple[str, ...]] | None:
        """(image id, repository digests) of a local image; no digest: it was never pushed to (or pulled from)
        a registry, so no other node can pull it."""
        try:
            attrs = self._client.images.get(ref).attrs
        except ImageNotFound:
            return None
        except DockerException as exc:
            raise Unreachable("docker.unreachable", error=_one_line(exc)) from None
        return attrs.get("Id", ""), tuple(attrs.get("RepoDigests") or ())

    def services(self, names: list[str]) -> dict[str, dict]:
        """The services named so (name → the engine's service document), one request."""
        try:
            found = self._client.api.services(filters={"name": names})
        except APIError as exc:
            if exc.status_code == 503:  # "This node is not a swarm manager"
                raise Unreachable("swarm.unavailable", error=_one_line(exc)) from None
            raise Unreachable("docker.unreachable", error=_one_line(exc)) from None
        except DockerException as exc:
            raise Unreachable("docker.unreachable", error=_one_line(exc)) from None
        return {s["Spec"]["Name"]: s for s in found if s.get("Spec", {}).get("Name") in names}

    def tasks(self, service_ids: list[str]) -> list[dict]:
        """Every task the engine still knows of these services (the current ones and recent history)."""
        if not service_ids:
            return []
        try:
            return self._client.api.tasks(filters={"service": service_ids})
        except DockerException as exc:
            raise Unreachable("docker.unreachable", error=_one_line(exc)) from None

    def node_names(self) -> dict[str, str]:
        try:
            return {n["ID"]: n.get("Description", {}).get("Hostname", n["ID"][:12]) for n in self._client.api.nodes()}
        except DockerException:
            return {}

    def put_service(self, name: str, spec: dict, current: dict | None) -> None:
        """Create the service from `spec` ({TaskTemplate, Labels, Mode, UpdateConfig, EndpointSpec}), or update
        `current` (the engine's document of it) to it."""
        args = dict(task_template=spec["TaskTemplate"], name=name, labels=spec.get("Labels") or {},
                    mode=spec.get("Mode"), update_config=spec.get("UpdateConfig"),
                    endpoint_spec=spec.get("EndpointSpec"))
        try:
            if current is None:
                self._client.api.create_service(**args)
            else:
                self._client.api.update_service(current["ID"], current["Version"]["Index"], **args)
        except DockerException as exc:
            raise DeployFailed("swarm.service_failed", name=name, error=_one_line(exc)) from None

    def remove_service(self, name: str) -> bool:
        try:
            self._client.api.remove_service(name)
        except NotFound:
            return False
        except DockerException as exc:
            raise DeployFailed("swarm.service_failed", name=name, error=_one_line(exc)) from None
        return True

    def service_logs(self, name: str, lines: int) -> list[str]:
        try:
            raw = self._client.api.service_logs(name, stdout=True, stderr=True, tail=lines)
            data = raw if isinstance(raw, bytes) else b"".join(raw)
        except DockerException:
            return []
        return data.decode("utf-8", "replace").splitlines()[-lines:]


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


_RFC3339 = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)")


def _rfc3339(stamp: str) -> float | None:
    """The engine's RFC 3339 (nano) time, e.g. 2026-12-01T03:11:34.123456789+09:00, as epoch seconds."""
    match = _RFC3339.fullmatch(stamp)
    if not match:
        return None
    zone = "+00:00" if match.group(3) == "Z" else match.group(3)
    whole = datetime.fromisoformat(match.group(1) + zone).timestamp()
    return whole + int((match.group(2) or "0").ljust(9, "0")) / 1e9


def each(call: Callable[[T], R], items: list[T]) -> list[R]:
    """`call` on every item; in parallel when there are several (each may wait out a stop grace)."""
    if len(items) < 2:
        return [call(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(len(items), 8)) as pool:
        return list(pool.map(call, items))


def _not_running(exc: APIError) -> bool:
    """The engine refused because the container does not run — stopped, or between two tries of its restart
    policy ("is restarting, wait until the container is running": after a reboot, parts/readiness.py)."""
    return "is not running" in str(exc) or "is restarting" in str(exc)


def _one_line(exc: BaseException) -> str:
    text = getattr(exc, "explanation", None) or str(exc)
    return " ".join(str(text).split())[:300]
