"""The config file as bytes: where it is, reading it safely, and where its state lives.

Apart from the schema (config/schema.py) because the rollback's quick path (quick/rollback.py) needs
only this, before anything heavy is imported. The file is opened without blocking and read only when it is a
regular file, at most safe_yaml's byte limit: a FIFO, a directory or `/dev/zero` given as the config is one line
(exit 2), never a hang or a traceback.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from bluegreen.errors import UsageError
from bluegreen.files import Unreadable, read_bounded

# Files bluegreen reads as YAML (this one, a Jenkins declaration) are bounded here, before PyYAML is imported:
# the quick path reads this file without it.
MAX_BYTES = 256 * 1024  # a declaration is a few kB; 200 jobs and 50 credentials are ~25 kB
DEFAULT_PATH = "bluegreen.yml"
DEFAULT_STATE_DIR = "/var/lib/bluegreen"


def config_path(path: str | os.PathLike[str] | None = None) -> Path:
    """--config, else $BLUEGREEN_CONFIG, else ./bluegreen.yml."""
    return Path(path or os.environ.get("BLUEGREEN_CONFIG") or DEFAULT_PATH)


_STATE_DIR = re.compile(rb"^state_dir\b.*$", re.M)
# A plain scalar (not quoted, no flow, anchor, tag or block indicator first), then an optional comment, which YAML
# starts only after whitespace (`a#b` is one value).
_PLAIN_STATE_DIR = re.compile(rb"state_dir:[ \t]+([^\s#'\"{}\[\]&*!|>%@`,?:-]\S*)(?:[ \t]+#.*)?[ \t]*")


def declared_state_dir(data: bytes) -> str | None:
    """The file's `state_dir` found without parsing it, for the rollback's quick path (importing PyYAML costs
    ~30 ms of the 0.3 s the switch may take): one top-level `state_dir: <plain value>` line, or the default when
    no top-level line starts with `state_dir`; None for any other form (the full path parses those).

    Not a YAML parser, and it need not be: the quick path acts only on a record there that names this very file's
    digest, which only a run that parsed the file writes, into the state_dir it parsed."""
    lines = _STATE_DIR.findall(data)
    if not lines:
        return DEFAULT_STATE_DIR
    found = _PLAIN_STATE_DIR.fullmatch(lines[0].rstrip(b"\r")) if len(lines) == 1 else None
    if found is None:
        return None
    try:
        return found.group(1).decode("utf-8")
    except UnicodeDecodeError:
        return None


def state_dir(value: str, source: Path | None) -> str:
    """`state_dir` (checked by the schema) relative to the config file's directory when it is relative."""
    if source is not None and not Path(value).is_absolute():
        return str(source.parent / value)
    return value


def read(path: Path) -> bytes:
    """The file's bytes: a regular file of at most safe_yaml's byte limit (files.py reads it)."""
    try:
        return read_bounded(path, MAX_BYTES)
    except Unreadable as exc:
        if exc.why == "missing":
            raise UsageError("config.not_found", path=str(path)) from None
        if exc.why == "kind":
            raise UsageError("config.not_a_file", path=str(path), kind=exc.detail) from None
        raise refusal(exc, str(path)) from None


def write_new(path: Path, text: str) -> None:
    """Create the config file (`bluegreen init`): never over an existing file, never through a link."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        raise UsageError("init.config_dir", path=str(path), error=exc.strerror or type(exc).__name__) from None
    try:
        os.write(fd, text.encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)


def remove_new(path: Path) -> None:
    """Undo write_new (a failed `init --apply` puts every file back as it was)."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def refusal(exc: Unreadable, source: str) -> UsageError:
    """The one line for a file that could not be read: missing, too large, or why not (a FIFO, permissions…)."""
    if exc.why == "missing":
        return UsageError("yaml.not_found", source=printable(source))
    if exc.why == "too_large":
        return UsageError("yaml.too_large", source=printable(source), limit=MAX_BYTES)
    return UsageError("yaml.unreadable", source=printable(source), error=exc.reason)


def printable(text: str) -> str:
    """One line of printable text: a path or message with a newline or control character can't forge lines."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
