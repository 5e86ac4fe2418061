"""Requests still in flight on one instance, counted from this host: the TCP connections established to the app's
port in the instance's own network namespace (`/proc/<pid>/net/tcp{,6}`), read once the app has been asked to stop.

Why then, and why sockets (measured: docs/real-backend.md, "Candidate signals"): an app with a graceful shutdown
(uvicorn, gunicorn) closes its idle keep-alive connections at SIGTERM and keeps each busy one until its answer
ends, so after SIGTERM the count is the requests in flight — an SSE stream, a slow answer, a WebSocket — whichever
nginx worker, generation or switch mode carried them. Before SIGTERM it is not: nginx >= 1.29.7 keeps idle upstream
connections open, and an idle pooled connection looks like a busy one.

The pid is the instance's main process as this host sees it (`State.Pid`); it is used only when its cgroup names
the container, so a pid from another PID namespace (bluegreen in a container without the host's) counts nothing
rather than someone else's sockets. Standard library only.
"""

from __future__ import annotations

import os
import socket
import sys

ESTABLISHED = "01"  # the `st` column of /proc/net/tcp (include/net/tcp_states.h)


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="ascii", errors="replace") as f:
            return f.read(1 << 22)
    except OSError:
        return None


def connections(pid: int, container_id: str, port: int) -> int | None:
    """Connections established to `port` inside the instance's network namespace; None when they cannot be seen
    from here (no such process, not the container's, /proc not readable)."""
    if pid <= 0 or not container_id:
        return None
    cgroup = _read(f"/proc/{int(pid)}/cgroup")
    if cgroup is None or container_id not in cgroup:
        return None
    tables = [_read(f"/proc/{int(pid)}/net/{name}") for name in ("tcp", "tcp6")]
    if tables[0] is None:
        return None
    return sum(_count(table, port) for table in tables if table)


def held_by(pids: list[int], peers: set[str]) -> int | None:
    """Connections the processes `pids` (nginx workers shutting down) hold to any of `peers` (`ip:port`): the
    requests they still proxy there. A worker shutting down closes its idle upstream connections at once, so what
    it still holds is busy. None when a worker's sockets cannot be read from here."""
    wanted = {_hex_endpoint(p) for p in peers} - {None}
    held = 0
    for pid in pids:
        inodes = _socket_inodes(pid)
        table = _read(f"/proc/{int(pid)}/net/tcp")
        if inodes is None or table is None:
            if not _read(f"/proc/{int(pid)}/cmdline"):
                continue  # exited meanwhile (the caller has checked it can see nginx's master): it holds nothing
            return None
        held += sum(1 for fields in _rows(table)
                    if fields[3] == ESTABLISHED and fields[2] in wanted and fields[9] in inodes)
    return held


def _socket_inodes(pid: int) -> set[str] | None:
    try:
        names = os.listdir(f"/proc/{int(pid)}/fd")
    except OSError:
        return None
    found = set()
    for name in names:
        try:
            target = os.readlink(f"/proc/{int(pid)}/fd/{name}")
        except OSError:
            continue  # closed meanwhile
        if target.startswith("socket:["):
            found.add(target[8:-1])
    return found


def _hex_endpoint(peer: str) -> str | None:
    """`172.18.0.3:8000` as /proc/net/tcp writes it: the address as the kernel's 32-bit word in host order."""
    host, _, port = peer.rpartition(":")
    try:
        packed = socket.inet_aton(host)
        return f"{int.from_bytes(packed, sys.byteorder):08X}:{int(port):04X}"
    except (OSError, ValueError):
        return None


def _rows(table: str) -> list[list[str]]:
    return [fields for line in table.splitlines()[1:] if len(fields := line.split()) >= 10]


def _count(table: str, port: int) -> int:
    found = 0
    for fields in _rows(table):
        if fields[3] != ESTABLISHED:
            continue
        _, _, local_port = fields[1].rpartition(":")
        try:
            if int(local_port, 16) == port:
                found += 1
        except ValueError:
            continue
    return found
