"""The key nginx's admin socket asks for (`switch: shared-dict`): without it nginx answers 403 to every request on
the socket, whoever reaches it and whatever the directory's mode.

The key is 32 random bytes (hex) in `<state_dir>/<service>.admin.key`, mode 0600, owned by the user running
bluegreen, written as the header line every request carries — `X-Bluegreen-Key: <key>` — so that an operator's
hand switch sends it with `curl -H @<file>` (never on a command line, where `ps` shows it). nginx holds only its
SHA-256 (`js_var $bg_<upstream>_key` in bluegreen's file): nginx's files may be readable by anyone on the host (a
bind-mounted conf.d, `nginx -T`), and its workers read bluegreen's file (the njs module digests it), so nothing
there may be secret. A key file that is missing, unreadable as such, or readable by others is replaced by a new
key (`ensure`, before an operation); the switch that follows installs its digest in nginx (a reload).

Standard library only: the rollback's quick path sends the key.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import stat
from pathlib import Path

from bluegreen.parts.state_files import atomic_write, open_regular

HEADER = "X-Bluegreen-Key"
_LINE = re.compile(rb"X-Bluegreen-Key: ([0-9a-f]{64})\n?")
_LIMIT = 256


def path_for(state_dir: Path | str, service: str) -> Path:
    return Path(state_dir) / f"{service}.admin.key"


def read(path: Path) -> str | None:
    """The key, when the file holds one that only this user can read; None otherwise (missing, another user's,
    readable by group or others, not what bluegreen writes). A link or a special file there: StateCorrupt."""
    try:
        fd = open_regular(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        st = os.fstat(fd)
        if st.st_uid != os.geteuid() or stat.S_IMODE(st.st_mode) & 0o077:
            return None
        match = _LINE.fullmatch(os.pread(fd, _LIMIT, 0))
    finally:
        os.close(fd)
    return match.group(1).decode("ascii") if match else None


def ensure(path: Path) -> tuple[str, bool]:
    """The key, and whether it is a new one (none could be used: see `read`)."""
    key = read(path)
    if key is not None:
        return key, False
    key = secrets.token_hex(32)
    atomic_write(path, f"{HEADER}: {key}\n", mode=0o600)
    return key, True


def digest(key: str | None) -> str:
    """What nginx's file names: the SHA-256 (hex) of the key as sent ("" for none: nginx admits nobody then)."""
    return hashlib.sha256(key.encode("ascii")).hexdigest() if key else ""
