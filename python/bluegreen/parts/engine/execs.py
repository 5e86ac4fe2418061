"""Inside a container (nginx): commands, files, processes, and its logs, read incrementally."""

from __future__ import annotations

import io
import posixpath
import socket
import tarfile
from dataclasses import dataclass

from docker.errors import APIError, DockerException, NotFound
from docker.utils.socket import frames_iter

from bluegreen.errors import Unreachable
from bluegreen.parts.engine.base import _Base, _rfc3339, inside, unreachable


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


@dataclass(frozen=True)
class Process:
    pid: str
    age: float  # seconds since it started (whole seconds: what `ps -o etimes` gives)
    args: str


@dataclass(frozen=True)
class FileRead:
    text: str | None  # None: no such file
    mtime: float | None = None  # epoch seconds, nanosecond precision when the engine gives it


class _Exec(_Base):
    def logs_tail(self, name: str, lines: int = 20) -> list[str]:
        try:
            raw = self._client.containers.get(name).logs(tail=lines, stdout=True, stderr=True)
        except DockerException:
            return []
        return raw.decode("utf-8", "replace").splitlines()[-lines:]

    def exec(self, container: str, cmd: list[str], stdin: bytes | None = None) -> tuple[int, str]:
        """Run `cmd` in the container; `stdin` is fed to it (one API round trip instead of an upload + an exec)."""
        with inside(container):
            if stdin is None:
                code, out = self._client.containers.get(container).exec_run(cmd, stdout=True, stderr=True)
            else:
                code, out = self._exec_with_input(container, cmd, stdin)
        return code, (out or b"").decode("utf-8", "replace")

    def exec_split(self, container: str, cmd: list[str]) -> tuple[int, str, str]:
        """Run `cmd` in the container: (exit code, stdout, stderr) apart (`nginx -T` prints its dump on stdout and
        its verdict on stderr)."""
        with inside(container):
            code, (out, err) = self._client.containers.get(container).exec_run(cmd, stdout=True, stderr=True,
                                                                                demux=True)
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
            raise unreachable(exc) from None
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
        with inside(container):
            top = self._client.containers.get(container).top(ps_args="-o pid,etimes,args")
        found = []
        for row in top.get("Processes") or []:
            age = row[1] if len(row) >= 3 else ""
            found.append(Process(row[0], float(age) if age.isdigit() else 0.0, row[-1]))
        return found

    def read_from(self, container: str, path: str, offset: int, limit: int) -> tuple[int, bytes] | None:
        """Up to `limit` bytes of a file in the container from `offset` (-1: its last `limit` bytes; past the end:
        the file shrank, from 0), as (start offset, bytes); None when it is not a regular file."""
        with inside(container):
            code, (out, _) = self._client.containers.get(container).exec_run(
                ["sh", "-c", _READ_FROM, "bluegreen", path, str(offset), str(limit)], demux=True)
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
