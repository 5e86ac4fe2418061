"""What bluegreen remembers between runs, per service, in `state_dir`:

- `<service>.lock`: the operation lock. An `fcntl.flock` the kernel releases when the holder dies (even by
  SIGKILL), so a killed run never leaves it stuck; the file's content names the holder for the refusal message.
- `<service>.state.json`: the nginx file last *confirmed* loaded and the worker processes that confirmed it, a
  file being installed right now (`pending`: what an interrupted run left), and the container id promoted per
  color (a container of a color that was never promoted is an unfinished candidate, not a rollback target).
- `<service>.history.jsonl`: one JSON line per operation (no secret values: only names, images, results).

Only the operation frame (operations/frame.py) takes the lock and writes here.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

from bluegreen.errors import LockHeld, UsageError


@dataclass
class ServiceState:
    loaded_config: str | None = None  # exact text of the upstream file nginx last confirmed loaded
    promoted: dict[str, str] = field(default_factory=dict)  # color -> container id that served as active
    images: dict[str, str] = field(default_factory=dict)  # color -> image it last ran (for rollback hints)
    workers: list[str] = field(default_factory=list)  # nginx worker pids that confirmed loaded_config
    pending: str | None = None  # a file being installed (written before the swap, cleared once confirmed)
    staged: dict[str, Any] | None = None  # a deploy staged for promotion: color, instance, image, build, preview, since


class StateDir:
    def __init__(self, root: Path, service: str) -> None:
        self.root, self.service = root, service
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageError("state.unwritable", path=str(root), error=exc.strerror or str(exc)) from None
        self._lock_fd: int | None = None

    def _path(self, suffix: str) -> Path:
        return self.root / f"{self.service}.{suffix}"

    # --- lock ------------------------------------------------------------------------------------------------
    def acquire(self, command: str) -> None:
        fd = os.open(self._path("lock"), os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            os.close(fd)
            raise LockHeld("lock.held", service=self.service, pid=holder.get("pid", "?"),
                           host=holder.get("host", "?"), since=holder.get("since", "?"),
                           command=holder.get("command", "?")) from None
        holder = {"pid": os.getpid(), "host": socket.gethostname(), "since": now_iso(), "command": command}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(holder).encode(), 0)
        self._lock_fd = fd

    def release(self) -> None:
        if self._lock_fd is not None:
            os.ftruncate(self._lock_fd, 0)
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            os.close(self._lock_fd)
            self._lock_fd = None

    def stale_holder(self) -> dict[str, Any] | None:
        """A holder recorded by a run that died without releasing (the kernel already freed the lock)."""
        path = self._path("lock")
        if not path.exists():
            return None
        fd = os.open(path, os.O_RDWR)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return None  # held by a live run
            holder = _read_holder(fd)
            fcntl.flock(fd, fcntl.LOCK_UN)
            return holder or None
        finally:
            os.close(fd)

    # --- service state ---------------------------------------------------------------------------------------
    def load(self) -> ServiceState:
        try:
            raw = json.loads(self._path("state.json").read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            return ServiceState()
        return ServiceState(raw.get("loaded_config"), dict(raw.get("promoted") or {}), dict(raw.get("images") or {}),
                            list(raw.get("workers") or []), raw.get("pending"), raw.get("staged"))

    def save(self, state: ServiceState) -> None:
        _atomic_write(self._path("state.json"), json.dumps(asdict(state), indent=2))

    # --- history ---------------------------------------------------------------------------------------------
    def record(self, entry: dict[str, Any]) -> None:
        with open(self._path("history.jsonl"), "a", encoding="utf-8") as f:
            f.write(json.dumps(entry, ensure_ascii=False) + "\n")
            f.flush()
            os.fsync(f.fileno())

    def history(self) -> Iterator[dict[str, Any]]:
        """Newest first; a torn last line (a run killed mid-write) is skipped."""
        try:
            lines = self._path("history.jsonl").read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return
        for line in reversed(lines):
            try:
                yield json.loads(line)
            except ValueError:
                continue


def now_iso(epoch: float | None = None) -> str:
    moment = datetime.now(timezone.utc) if epoch is None else datetime.fromtimestamp(epoch, timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _read_holder(fd: int) -> dict[str, Any]:
    try:
        return json.loads(os.pread(fd, 4096, 0) or b"{}")
    except ValueError:
        return {}


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
