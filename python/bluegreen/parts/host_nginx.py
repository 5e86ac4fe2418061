"""nginx seen from the host through /proc (`switch: reload`): the rollback's quick path reads, swaps and reloads
bluegreen's upstream file without the Docker API.

A container's processes are this host's processes: the nginx master's pid (`docker top` names it) gives its
workers (`/proc/<master>/task/<master>/children`, their command lines say which are shutting down), its
filesystem as nginx sees it, bind mounts included (`/proc/<master>/root`), and its reload (SIGHUP, what
`nginx -s reload` sends). Where bluegreen runs in another PID namespace (a Jenkins agent in a container) none of
this is visible, and the rollback takes the full path through Docker.

Every component of the file's path is opened without following a symbolic link: a link inside the container
resolves against the *host's* root from here (`/etc/nginx/conf.d` → `/etc` of the host), so any link at all
makes the quick path step aside. Standard library only: the quick path runs before anything heavy is imported.
"""

from __future__ import annotations

import os
import signal
import time
from typing import Callable

# nginx's process titles (its master sets them; `docker top` shows the same: parts/nginx.py reads them there)
MASTER = "nginx: master process"
WORKER = "nginx: worker process"
SHUTTING_DOWN = "is shutting down"


def _read(path: str) -> bytes | None:
    try:
        with open(path, "rb") as f:
            return f.read(1 << 16)
    except OSError:
        return None


def is_master(pid: int) -> bool:
    """`pid` is an nginx master this process can see (and signal: same user namespace, root)."""
    cmdline = _read(f"/proc/{int(pid)}/cmdline")
    return bool(cmdline) and cmdline.startswith(MASTER.encode())


def workers(pid: int) -> list[str] | None:
    """The master's current workers (not those shutting down), as pids; None when they cannot be seen."""
    children = _read(f"/proc/{int(pid)}/task/{int(pid)}/children")
    if children is None or not is_master(pid):
        return None
    found = []
    for child in children.split():
        cmdline = _read(f"/proc/{int(child)}/cmdline") or b""
        if cmdline.startswith(WORKER.encode()) and SHUTTING_DOWN.encode() not in cmdline:
            found.append(child.decode("ascii"))
    return found


def _parent(pid: int, path: str) -> tuple[int, str]:
    """An fd on the directory holding `path` inside the master's filesystem, and the file's name; every component
    opened with O_NOFOLLOW (OSError on a link, `..`, or anything missing)."""
    parts = path.split("/")
    if not path.startswith("/") or any(p in ("", ".", "..") for p in parts[1:]):
        raise OSError(f"not a plain absolute path: {path!r}")
    fd = os.open(f"/proc/{int(pid)}/root", os.O_RDONLY | os.O_DIRECTORY)
    try:
        for part in parts[1:-1]:
            next_fd = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
            os.close(fd)
            fd = next_fd
    except OSError:
        os.close(fd)
        raise
    return fd, parts[-1]


def read_file(pid: int, path: str) -> bytes | None:
    """The file at `path` as nginx sees it; None when it cannot be read without following a link."""
    try:
        directory, name = _parent(pid, path)
    except OSError:
        return None
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW, dir_fd=directory)
        with os.fdopen(fd, "rb") as f:
            return f.read()
    except OSError:
        return None
    finally:
        os.close(directory)


def install(pid: int, path: str, data: bytes, *, backup: bytes | None = None,
            still: Callable[[], bool] | None = None) -> bool:
    """Write `data` beside `path` and rename it over it, as the full path's swap does inside the container (names
    that nginx's `conf.d/*.conf` include never matches); `backup` goes to `<path>.backup`. Both are written beside
    before anything is renamed, and `still` (when given) is asked then, immediately before the renames: when it
    says no, nothing is renamed, nothing of ours is left, and the answer is False. The file is renamed first, so
    that one rename (~0.1 ms on ext4) is all that separates the last check from it; the backup's rename follows,
    best effort (the file is in place: a `.backup` left older is no reason to undo it). OSError when the file was
    not installed."""
    directory, name = _parent(pid, path)
    temporaries: list[str] = []  # written beside, not renamed (yet): removed whatever happens
    try:
        temporaries.append(_beside(directory, name, data))
        if backup is not None:
            temporaries.append(_beside(directory, f"{name}.backup", backup))
        if still is not None and not still():
            return False
        os.rename(temporaries[0], name, src_dir_fd=directory, dst_dir_fd=directory)  # OSError: not installed
        temporaries.pop(0)
        if temporaries:  # the backup's, best effort: the file is in place
            try:
                os.rename(temporaries[0], f"{name}.backup", src_dir_fd=directory, dst_dir_fd=directory)
                temporaries.pop(0)
            except OSError:
                pass
        return True
    finally:
        for tmp in temporaries:
            _unlink(directory, tmp)
        os.close(directory)


def _beside(directory: int, name: str, data: bytes) -> str:
    """`data` written to a temporary name beside `name`: that name."""
    tmp = f".{name}.bluegreen-tmp"
    _unlink(directory, tmp)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644, dir_fd=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
    except OSError:
        _unlink(directory, tmp)  # a full disk: nothing of ours is left
        raise
    return tmp


def _unlink(directory: int, name: str) -> None:
    try:
        os.unlink(name, dir_fd=directory)
    except FileNotFoundError:
        pass


def hup(pid: int) -> bool:
    """SIGHUP the nginx master `pid` (what `nginx -s reload` sends) from this host; False when it is not one this
    process can see and signal (another PID namespace, another user)."""
    if not is_master(pid):
        return False
    try:
        os.kill(int(pid), signal.SIGHUP)
    except OSError:  # PermissionError: nginx runs as another user than this process
        return False
    return True


def reload(pid: int, before: list[str], timeout: float) -> list[str] | None:
    """SIGHUP the master and wait (polling, up to `timeout`) until it runs a new generation of workers and none of
    `before` still accepts: nginx applied the file. The new workers; None when not confirmed in time (a file nginx
    refused leaves the old workers serving: the full path tests it and says why)."""
    if not hup(pid):
        return None
    old, deadline = set(before), time.monotonic() + timeout
    while True:
        now = workers(pid)
        if now and not (set(now) & old):
            return now
        if time.monotonic() > deadline:
            return None
        time.sleep(0.005)  # poll interval of the bounded wait above
