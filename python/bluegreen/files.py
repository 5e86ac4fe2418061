"""Files named by an operator or a declaration (bluegreen.yml, jenkins.yml, a secret's `from_file`, a pipeline
script, a credentials file): read whole, bounded, never blocking; and every write finished or refused.

A read opens the path without blocking (a FIFO without a writer, a terminal) and reads only a regular file, at most
`limit` bytes: a FIFO, a directory or `/dev/zero` is refused at once, never read. Symbolic links are followed (a
Kubernetes secret mount and most dotfile managers are links); what is checked — type, size, and a caller's mode
check — is the descriptor actually read (`fstat`), not the path looked at a moment before. Every way it can fail is
an `Unreadable` saying why, for the caller to turn into its own one-line refusal.

`os.write` may write fewer bytes than it was given (a near-full disk, a signal, a pipe): `write_all` writes the
rest, and refuses (ENOSPC) a write that makes no progress, so a file is never fsynced short.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from pathlib import Path

__all__ = ["Unreadable", "kind_of", "read_bounded", "write_all"]

_READ = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY


class Unreadable(Exception):
    """Why a file was not read: `why` is "missing", "kind" (not a regular file: `detail` names its type), "mode"
    (`private` and group or others may access it: `detail` is the mode), "too_large" (`detail`: the limit in bytes)
    or "error" (`detail`: the system's reason: permission denied, not a directory, too many levels of symbolic links,
    an I/O error)."""

    def __init__(self, path: Path, why: str, detail: str = "") -> None:
        super().__init__(f"{path}: {why} {detail}".strip())
        self.path, self.why, self.detail = path, why, detail

    @property
    def reason(self) -> str:
        """One short phrase for a message: "not a regular file (FIFO)", "larger than 65536 bytes", the errno text."""
        if self.why == "missing":
            return os.strerror(errno.ENOENT)
        if self.why == "kind":
            return f"not a regular file ({self.detail})"
        if self.why == "too_large":
            return f"larger than {self.detail} bytes"
        if self.why == "mode":
            return f"group or others may access it (mode {self.detail})"
        return self.detail


def read_bounded(path: str | os.PathLike[str], limit: int, *, private: bool = False) -> bytes:
    """The file's bytes, at most `limit`; `private`: refused when group or others may access it (a token)."""
    path = Path(path)
    try:
        fd = os.open(path, _READ)
    except FileNotFoundError:
        raise Unreadable(path, "missing") from None
    except OSError as exc:
        if exc.errno == errno.ENXIO:  # a socket: open() refuses it before fstat could
            raise Unreadable(path, "kind", "socket") from None
        raise Unreadable(path, "error", exc.strerror or type(exc).__name__) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise Unreadable(path, "kind", kind_of(st.st_mode))
        if private and st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise Unreadable(path, "mode", oct(stat.S_IMODE(st.st_mode)))
        chunks, size = [], 0
        while size <= limit:  # a /proc file says size 0 and has more: read until EOF or past the limit
            chunk = os.read(fd, limit + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise Unreadable(path, "error", exc.strerror or type(exc).__name__) from None
    finally:
        os.close(fd)
    if size > limit:
        raise Unreadable(path, "too_large", str(limit))
    return b"".join(chunks)


def write_all(fd: int, data: bytes, offset: int | None = None) -> None:
    """Write every byte of `data` (at `offset`, or at the file's position); a write that makes no progress is ENOSPC."""
    view, done = memoryview(data), 0
    while done < len(view):
        rest = view[done:]
        written = os.write(fd, rest) if offset is None else os.pwrite(fd, rest, offset + done)
        if written <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        done += written


def kind_of(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "directory"), (stat.S_ISFIFO, "FIFO"), (stat.S_ISCHR, "character device"),
                       (stat.S_ISBLK, "block device"), (stat.S_ISSOCK, "socket"), (stat.S_ISLNK, "symbolic link")):
        if test(mode):
            return name
    return "special file"


def digest(data: str | bytes | None) -> str | None:
    """SHA-256 hex of a text (UTF-8) or bytes: as nginx's njs module reports the file on its disk, and the config
    file's (the quick path checks it is the one of the last switch)."""
    if data is None:
        return None
    return hashlib.sha256(data.encode("utf-8") if isinstance(data, str) else data).hexdigest()
