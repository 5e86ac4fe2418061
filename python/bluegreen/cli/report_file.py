"""The --report file, opened before anything changes: a path that cannot be written is refused first, not after
the deploy. Apart from cli_options.py because the rollback's quick path (entry.py) checks it before it switches,
when nothing heavy is imported yet.
"""

from __future__ import annotations

import os
import stat

from bluegreen.errors import UsageError

__all__ = ["open_report"]


def open_report(path: str | None) -> tuple[int, str] | None:
    """The report file, open (created now, written at the end), and its path; None without --report."""
    if not path:
        return None
    try:  # O_NONBLOCK: a FIFO without a reader is refused instead of hanging the run
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY, 0o644)
    except OSError as exc:
        raise UsageError("report.unwritable", path=path, error=exc.strerror or type(exc).__name__) from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise UsageError("report.unwritable", path=path, error="not a regular file")
        os.ftruncate(fd, 0)
        os.pwrite(fd, b"", 0)  # what writing it needs: a /proc file is "regular" but refuses
    except OSError as exc:
        os.close(fd)
        raise UsageError("report.unwritable", path=path, error=exc.strerror or type(exc).__name__) from None
    except UsageError:
        os.close(fd)
        raise
    return fd, path
