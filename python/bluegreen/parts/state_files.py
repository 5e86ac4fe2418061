"""Opening state_dir and its files safely, for state.py: the only place that touches them on disk.

- state_dir must be a real directory (not a symlink), owned by this user or root, not writable by group or
  others: whoever can write there can forge the lock, the state or the history.
- In the docker runner's throwaway container (BLUEGREEN_RUNNER=docker, set by the library's docker-runner.sh)
  state_dir must be mounted from the host (mounts.py): on the container's own filesystem the lock, the state and
  the history would vanish after every run, and two runs would never see each other's lock.
- Files are opened with O_NOFOLLOW and O_NONBLOCK and must be regular files (a symlink could send writes
  anywhere; a FIFO would hang the run); reads are bounded; writes go through a new file renamed into place.
Problems are StateCorrupt (exit 3) naming the path; a directory that cannot be created or written is a UsageError
(exit 2: `state.unwritable`).
"""

from __future__ import annotations

import errno
import os
import stat
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from bluegreen.errors import StateCorrupt, UsageError, WriteFailed
from bluegreen.files import kind_of, write_all
from bluegreen.parts import mounts

_FLAGS = os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY
RUNNER = "BLUEGREEN_RUNNER"  # "docker" inside the docker runner's container (resources/bluegreen/docker-runner.sh)


def prepare_dir(root: Path) -> None:
    """state_dir exists, is a directory of its own (not a link), belongs to this user or root and no one else
    may write in it; in the docker runner, a directory of the host's."""
    if os.environ.get(RUNNER) == "docker" and mounts.on_own_filesystem(os.path.abspath(root)):
        raise UsageError("state.runner_not_shared", path=str(root))
    try:
        root.mkdir(mode=0o755, parents=True, exist_ok=True)
    except FileExistsError:
        pass  # not a directory, or a dangling link: said below
    except OSError as exc:
        raise UsageError("state.unwritable", path=str(root), error=exc.strerror or str(exc)) from None
    try:
        st = os.lstat(root)
    except OSError as exc:
        raise UsageError("state.unwritable", path=str(root), error=exc.strerror or str(exc)) from None
    if stat.S_ISLNK(st.st_mode):
        raise StateCorrupt("state.dir_symlink", path=str(root), target=os.path.realpath(root))
    if not stat.S_ISDIR(st.st_mode):
        raise StateCorrupt("state.dir_not_dir", path=str(root), kind=kind_of(st.st_mode))
    if st.st_uid not in (os.geteuid(), 0):
        raise StateCorrupt("state.dir_owner", path=str(root), owner=st.st_uid, user=os.geteuid())
    if st.st_mode & 0o022:
        raise StateCorrupt("state.dir_unsafe", path=str(root), mode=oct(stat.S_IMODE(st.st_mode)))


def check_kind(path: Path, *, directory: bool = False) -> None:
    """Nothing at `path`, or a regular file (not a symlink, directory, FIFO…); with `directory`, a directory."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise UsageError("state.unwritable", path=str(path), error=exc.strerror or str(exc)) from None
    if stat.S_ISLNK(st.st_mode):
        raise StateCorrupt("state.symlink", path=str(path))
    if directory and not stat.S_ISDIR(st.st_mode):
        raise StateCorrupt("state.dir_not_dir", path=str(path), kind=kind_of(st.st_mode))
    if not directory and not stat.S_ISREG(st.st_mode):
        raise StateCorrupt("state.not_regular", path=str(path), kind=kind_of(st.st_mode))


def open_regular(path: Path, flags: int) -> int:
    """A regular file in state_dir, never through a symlink, never blocking; FileNotFoundError passes (a
    WriteFailed when creating it: state_dir was removed under the run)."""
    try:
        fd = os.open(path, flags | _FLAGS, 0o644)
    except FileNotFoundError as exc:
        if flags & os.O_CREAT:
            raise WriteFailed(exc.errno, exc.strerror, str(path)) from None
        raise
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise StateCorrupt("state.symlink", path=str(path)) from None
        if exc.errno in (errno.EISDIR, errno.ENXIO, errno.ENOTDIR):
            check_kind(path)
        raise UsageError("state.unwritable", path=str(path), error=exc.strerror or str(exc)) from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise StateCorrupt("state.not_regular", path=str(path), kind=kind_of(mode))
    return fd


def read_bounded(path: Path, limit: int) -> bytes | None:
    """The file's bytes, None when it does not exist, StateCorrupt when larger than `limit`."""
    try:
        fd = open_regular(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        data = os.pread(fd, limit + 1, 0)
    finally:
        os.close(fd)
    if len(data) > limit:
        raise StateCorrupt("state.too_large", path=str(path), limit=limit)
    return data


def cut_torn_tail(fd: int) -> None:
    """Cut what follows the last newline: the start of a line a killed run never finished."""
    size = os.fstat(fd).st_size
    end = size
    while end > 0:
        chunk = os.pread(fd, min(65536, end), end - min(65536, end))
        if end == size and chunk.endswith(b"\n"):
            return
        cut = chunk.rfind(b"\n")
        if cut >= 0:
            os.ftruncate(fd, end - len(chunk) + cut + 1)
            return
        end -= len(chunk)
    os.ftruncate(fd, 0)


def atomic_write(path: Path, text: str) -> None:
    """Write a new file beside `path` (never through a link that was planted there) and rename it into place."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        os.unlink(tmp)  # left by a killed run with this pid, or planted: never written through
    except FileNotFoundError:
        pass
    with naming(path):
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        try:
            write_all(fd, text.encode("utf-8"))  # a short write retried: never a truncated state.json fsynced
            os.fsync(fd)
        except OSError:
            os.unlink(tmp)  # a full disk leaves no half-written temporary behind
            raise
        finally:
            os.close(fd)
        os.replace(tmp, path)


@contextmanager
def naming(path: Path) -> Iterator[None]:
    """A failed write (disk full, read-only, quota) names the file it was for: `os.write` on a descriptor does
    not, and the operator's one line must say where space or permission is missing (the CLI maps it)."""
    try:
        yield
    except WriteFailed:
        raise
    except OSError as exc:  # the file's own name, not the temporary's or a descriptor's (none)
        raise WriteFailed(exc.errno, exc.strerror or str(exc), str(path)) from exc
