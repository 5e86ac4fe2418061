"""What bluegreen remembers between runs, per service, in `state_dir`:

- `<service>.lock`: the operation lock. An `fcntl.flock` the kernel releases when the holder dies (even by
  SIGKILL), so a killed run never leaves it stuck; the file's content names the holder for the refusal message.
- `<service>.state.json`: the nginx file last *confirmed* loaded and the worker processes that confirmed it, a
  file being installed right now (`pending`: what an interrupted run left), and the container id promoted per
  color (a container of a color that was never promoted is an unfinished candidate, not a rollback target).
- `<service>.history.jsonl`: one JSON line per operation (no secret values: only names, images, results).

Only the operation frame (operations/frame.py) takes the lock and writes here.

What is read here is never read as empty when it is not what bluegreen writes (that would refuse a valid
rollback, or forget a lock holder): a problem is a `StateCorrupt` (exit 3) that names the file and the repair,
raised before anything changes. state.json must be a JSON object whose known fields have their declared types;
the lock holds nothing or a holder; history lines are JSON objects, except a torn last line (a run killed
mid-write), which is skipped and cut off before the next entry is appended. How the directory and its files are
opened (never through a symlink, never blocking, bounded) is state_files.py.
"""

from __future__ import annotations

import fcntl
import json
import math
import os
import posixpath
import socket
import time
import types
import typing
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Iterator, Mapping

from bluegreen.errors import LockHeld, StateCorrupt
from bluegreen.files import write_all
from bluegreen.parts.state_files import (atomic_write, check_kind, cut_torn_tail, naming, open_regular, prepare_dir,
                                         read_bounded)

STATE_LIMIT = 4 << 20  # state.json: an upstream file twice and a few ids are a few kB
LOCK_LIMIT = 4096  # a holder is ~150 bytes
HISTORY_WINDOW = 16 << 20  # `history` reads the newest 16 MiB (≥ 10,000 entries, its --limit maximum)
HOLDER_FIELDS = {"pid": int, "host": str, "since": str, "command": str}


@dataclass
class ServiceState:
    loaded_config: str | None = None  # exact text of the upstream file nginx last confirmed loaded
    promoted: dict[str, str] = field(default_factory=dict)  # color -> container id that served as active
    images: dict[str, str] = field(default_factory=dict)  # color -> image it last ran (for rollback hints)
    workers: list[str] = field(default_factory=list)  # nginx worker pids that confirmed loaded_config
    pending: str | None = None  # a file being installed (written before the swap, cleared once confirmed)
    staged: dict[str, Any] | None = None  # a deploy staged for promotion: color, instance, image, build, preview, since
    quick: dict[str, Any] | None = None  # shared-dict: what the quick rollback checks (SharedDictSwitch.ticket)


class StateDir:
    def __init__(self, root: Path, service: str) -> None:
        self.root, self.service = root, service
        prepare_dir(root)
        self._lock_fd: int | None = None
        self._taken_over: dict[str, Any] | None = None
        for suffix in ("lock", "history.jsonl"):  # opened later, when a refusal would come too late
            check_kind(self._path(suffix))
        self.load()  # a corrupt state.json refuses every command before anything changes

    def _path(self, suffix: str) -> Path:
        return self.root / f"{self.service}.{suffix}"

    # --- lock ------------------------------------------------------------------------------------------------
    def acquire(self, command: str) -> None:
        path = self._path("lock")
        fd = open_regular(path, os.O_RDWR | os.O_CREAT)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            try:
                holder = _read_holder(fd, path)
            except StateCorrupt:  # the flock is the truth; its content only names the holder
                holder = None
            os.close(fd)
            holder = holder or {}
            raise LockHeld("lock.held", service=self.service, pid=holder.get("pid", "?"),
                           host=holder.get("host", "?"), since=holder.get("since", "?"),
                           command=holder.get("command", "?")) from None
        try:
            # A record in a lock no run holds: a run that died holding it (junk: said, not overwritten).
            self._taken_over = _read_holder(fd, path) or None
        except StateCorrupt:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
            raise
        holder = {"pid": os.getpid(), "host": socket.gethostname(), "since": now_iso(), "command": command}
        try:
            with naming(path):  # a full disk: one line naming the lock file, and the lock is not held
                os.ftruncate(fd, 0)
                write_all(fd, json.dumps(holder).encode(), 0)
        except OSError:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
            raise
        self._lock_fd = fd

    @property
    def locked(self) -> bool:
        """This process holds the service's lock through this object."""
        return self._lock_fd is not None

    def unlock(self) -> None:
        """Let the service's lock go (idempotent)."""
        if self._lock_fd is not None:
            os.ftruncate(self._lock_fd, 0)
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            os.close(self._lock_fd)
            self._lock_fd = None

    def stale_holder(self) -> dict[str, Any] | None:
        """A holder recorded by a run that died without releasing (the kernel already freed the lock). While this
        run holds the lock: the one it took over, if any."""
        if self._lock_fd is not None:
            return self._taken_over
        path = self._path("lock")
        try:
            fd = open_regular(path, os.O_RDWR)
        except FileNotFoundError:
            return None
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return None  # held by a live run
            try:
                return _read_holder(fd, path)
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    # --- service state ---------------------------------------------------------------------------------------
    def load(self) -> ServiceState:
        path = self._path("state.json")
        data = read_bounded(path, STATE_LIMIT)
        if data is None:
            return ServiceState()
        raw = checked_state(_json(data, path), path)
        return ServiceState(raw.get("loaded_config"), dict(raw.get("promoted") or {}), dict(raw.get("images") or {}),
                            list(raw.get("workers") or []), raw.get("pending"), raw.get("staged"), raw.get("quick"))

    def save(self, state: ServiceState) -> None:
        atomic_write(self._path("state.json"), json.dumps(asdict(state), indent=2))

    # --- copies of other programs' files ------------------------------------------------------------------------
    def keep_copies(self, files: Mapping[str, str]) -> Path:
        """Copies of files bluegreen is about to change elsewhere (nginx's, by `init`), each under
        `<service>.init-backup/<time>/<its path>`: here, nginx's include globs never read them (a
        `default.conf.bak` in sites-enabled/ would be loaded). The folder (0700): its name is said to the operator."""
        base = self._path("init-backup")
        check_kind(base, directory=True)
        with naming(base):
            base.mkdir(mode=0o700, exist_ok=True)
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        folder, n = base / stamp, 1
        while folder.exists() or folder.is_symlink():
            n += 1
            folder = base / f"{stamp}-{n}"
        with naming(folder):
            folder.mkdir(mode=0o700)
        for path, text in files.items():
            target = folder / posixpath.normpath("/" + path).lstrip("/")  # `..` cannot climb out of the folder
            with naming(target):
                target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            atomic_write(target, text)
        return folder

    # --- history ---------------------------------------------------------------------------------------------
    def record(self, entry: dict[str, Any]) -> None:
        """Append one line; a torn last line (a run killed mid-write) is cut off first, so it never ends up in
        the middle of the file glued to this one."""
        path = self._path("history.jsonl")
        fd = open_regular(path, os.O_RDWR | os.O_APPEND | os.O_CREAT)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # the monitor records without the service lock
            with naming(path):
                cut_torn_tail(fd)
                write_all(fd, (json.dumps(entry, ensure_ascii=False) + "\n").encode("utf-8"))
                os.fsync(fd)
        finally:
            os.close(fd)

    def history(self) -> Iterator[dict[str, Any]]:
        """Newest first; a torn last line (a run killed mid-write) is skipped, any other line that is not a JSON
        object is a StateCorrupt naming it."""
        path = self._path("history.jsonl")
        try:
            fd = open_regular(path, os.O_RDONLY)
        except FileNotFoundError:
            return
        try:
            size = os.fstat(fd).st_size
            start = max(0, size - HISTORY_WINDOW)
            data = os.pread(fd, size - start, start)
        finally:
            os.close(fd)
        if start:  # the window's first line is cut by the window, not torn: skip it
            skip = data.find(b"\n") + 1
            data, start = data[skip:], start + skip
        *lines, torn = data.split(b"\n")  # torn: b"" when the file ends with a newline
        entries, offset = [], start
        for number, line in enumerate(lines, 1):
            if line.strip():  # a blank line is no entry, and no harm
                entries.append(_history_entry(line, path, number if start == 0 else "?", offset))
            offset += len(line) + 1
        if torn.strip():
            try:
                entries.append(_history_entry(torn, path, "?", offset))
            except StateCorrupt:
                pass  # torn by a killed run: the next record() cuts it off
        yield from reversed(entries)


def recorded_config(root: Path, service: str) -> str | None:
    """The upstream file nginx last confirmed loaded, as the service's state remembers it; None without a state
    directory (read only: `init`'s dry run creates nothing)."""
    if not root.is_dir():
        return None
    return StateDir(root, service).load().loaded_config


def checked_state(raw: Any, path: Path) -> dict[str, Any]:
    """state.json as bluegreen writes it: an object whose known fields have their declared types (None is read as
    the default); unknown fields are left to the version that wrote them."""
    if not isinstance(raw, dict):
        raise _corrupt(path, f"a JSON {_json_type(raw)}, not an object")
    hints = typing.get_type_hints(ServiceState)
    for f in fields(ServiceState):
        value = raw.get(f.name)
        if value is not None and not _conforms(value, hints[f.name], top=True):
            raise _corrupt(path, f"'{f.name}' is not {_type_name(hints[f.name])}")
    return raw


def now_iso(epoch: float | None = None) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


# --- what the files hold ------------------------------------------------------------------------------------
def _json(data: bytes, path: Path) -> Any:
    try:
        return json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise _corrupt(path, f"not UTF-8: byte {exc.start}") from None
    except ValueError as exc:
        raise _corrupt(path, f"not JSON: {getattr(exc, 'msg', exc)}") from None
    except RecursionError:
        raise _corrupt(path, "not JSON: nested too deep") from None


def _corrupt(path: Path, problem: str) -> StateCorrupt:
    if path.name.endswith(".lock"):
        return StateCorrupt("state.lock_corrupt", path=str(path), problem=problem)
    return StateCorrupt("state.corrupt", path=str(path), problem=problem)


def _read_holder(fd: int, path: Path) -> dict[str, Any] | None:
    """The lock's holder, None when it names none (released, or never taken)."""
    data = os.pread(fd, LOCK_LIMIT + 1, 0)
    if not data.strip():
        return None
    if len(data) > LOCK_LIMIT:
        raise StateCorrupt("state.too_large", path=str(path), limit=LOCK_LIMIT)
    holder = _json(data, path)
    if not isinstance(holder, dict):
        raise _corrupt(path, f"a JSON {_json_type(holder)}, not a holder")
    for name, kind in HOLDER_FIELDS.items():
        value = holder.get(name)
        if type(value) is not kind or (kind is str and not _one_line(value)):
            raise _corrupt(path, f"'{name}' is not a {kind.__name__}")
    return holder


def _history_entry(line: bytes, path: Path, number: int | str, offset: int) -> dict[str, Any]:
    try:
        entry = json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        entry = _NOT_JSON
    if not isinstance(entry, dict):
        problem = "not JSON" if entry is _NOT_JSON else f"a JSON {_json_type(entry)}, not an object"
        raise StateCorrupt("state.history_corrupt", path=str(path), line=number, offset=offset, problem=problem)
    return entry


_NOT_JSON = object()


# --- types of what JSON gave -----------------------------------------------------------------------------------
def _conforms(value: Any, hint: Any, *, top: bool = False) -> bool:
    """`value` (from JSON) has the declared type; strings inside containers are one printable line."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_conforms(value, a, top=top) for a in args)
    if hint is type(None):
        return value is None
    if hint is Any:
        return True
    if hint is str:
        return isinstance(value, str) and (top or _one_line(value))
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return type(value) is int
    if hint is float:
        return type(value) in (int, float) and math.isfinite(value)
    if origin is dict:
        return isinstance(value, dict) and all(_conforms(k, args[0]) and _conforms(v, args[1]) for k, v in value.items())
    if origin in (list, tuple):
        return isinstance(value, list) and all(_conforms(v, args[0]) for v in value)
    return True  # a type JSON cannot say more about


def _type_name(hint: Any) -> str:
    return str(hint).replace("typing.", "")


def _one_line(text: str) -> bool:
    return len(text) <= 4096 and text.isprintable()


def _json_type(value: Any) -> str:
    return {list: "array", str: "string", int: "number", float: "number", bool: "boolean"}.get(type(value), "null")
