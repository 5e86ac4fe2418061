"""Loading bluegreen.yml: read the file once, validate it (config_schema.py), expand ${VAR} placeholders.

The file is opened without blocking and read only when it is a regular file, at most safe_yaml's byte limit: a
FIFO, a directory or `/dev/zero` given as the config is one line (exit 2), never a hang or a traceback.
"""

from __future__ import annotations

import errno
import os
import re
import stat
from pathlib import Path
from typing import Mapping

from bluegreen import safe_yaml
from bluegreen.config_schema import parse
from bluegreen.errors import MissingVariables, UsageError
from bluegreen.settings import Config

PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
DEFAULT_PATH = "bluegreen.yml"


def load(path: str | os.PathLike[str] | None = None) -> Config:
    """Read and validate the config file; every problem names its key."""
    path = Path(path or os.environ.get("BLUEGREEN_CONFIG") or DEFAULT_PATH)
    return parse(safe_yaml.load(read(path), source=str(path)), source=path)


def read(path: Path) -> bytes:
    """The file's bytes (at most one more than safe_yaml accepts, so it can say "too large")."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY)
    except FileNotFoundError:
        raise UsageError("config.not_found", path=str(path)) from None
    except OSError as exc:
        if exc.errno == errno.ENXIO:  # a socket
            raise UsageError("config.not_a_file", path=str(path), kind="socket") from None
        raise UsageError("yaml.unreadable", source=str(path), error=exc.strerror or type(exc).__name__) from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise UsageError("config.not_a_file", path=str(path), kind=_kind(mode))
        chunks, size = [], 0
        while size <= safe_yaml.MAX_BYTES:
            chunk = os.read(fd, safe_yaml.MAX_BYTES + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks)
    except OSError as exc:
        raise UsageError("yaml.unreadable", source=str(path), error=exc.strerror or type(exc).__name__) from None
    finally:
        os.close(fd)


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "directory"), (stat.S_ISFIFO, "FIFO"), (stat.S_ISCHR, "character device"),
                       (stat.S_ISBLK, "block device"), (stat.S_ISSOCK, "socket")):
        if test(mode):
            return name
    return "special file"


def expand(template: str, environ: Mapping[str, str], *, key: str) -> str:
    """Expand ${VAR} from the environment; every unset variable is reported at once."""
    missing = [n for n in PLACEHOLDER.findall(template) if not environ.get(n)]
    if missing:
        raise MissingVariables("env.missing", names=", ".join(dict.fromkeys(missing)), key=key)
    return PLACEHOLDER.sub(lambda m: environ[m.group(1)], template)
