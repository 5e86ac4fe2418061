"""Which mount holds a path, read from /proc/self/mountinfo (proc(5)): for the docker runner, whose state_dir must
be a directory shared with the host, never its throwaway container's own filesystem, where the lock, the state and
the history would vanish with the container after every run.

A mountinfo line: `id parent major:minor root mount-point options [optional fields…] - fstype source super-options`,
with space, tab, newline and backslash in paths written as octal escapes (`\\040`). The mount holding a path is the
last-mounted one whose mount point is the path or one of its parents. A container's own filesystem is its root
(`/`, the image's layers) and what every container gets for itself (/dev, /dev/shm, /proc, /sys…); anything else
mounted there (a bind mount, a volume, --volumes-from) outlives the container. Standard library only: the rollback's
quick path runs this before anything heavy is imported.
"""

from __future__ import annotations

import os
import re

MOUNTINFO = "/proc/self/mountinfo"
# Mount points every container has of its own, and pseudo filesystems: never where state can live on.
CONTAINER_OWN = frozenset({"/", "/dev", "/dev/shm", "/dev/pts", "/dev/mqueue", "/proc", "/sys", "/sys/fs/cgroup"})
PSEUDO = frozenset({"proc", "sysfs", "devpts", "mqueue", "cgroup", "cgroup2"})
_ESCAPE = re.compile(r"\\([0-7]{3})")


def holding_mount(path: str, mountinfo: str) -> tuple[str, str] | None:
    """(mount point, filesystem type) of the mount holding `path` (absolute, normalized), or None if none does."""
    found = None
    for line in mountinfo.splitlines():
        fields = line.split(" ")
        if "-" not in fields[6:-1]:
            continue
        point = _ESCAPE.sub(lambda m: chr(int(m.group(1), 8)), fields[4])
        fstype = fields[fields.index("-", 6) + 1]
        if path == point or path.startswith(point.rstrip("/") + "/"):
            if found is None or len(point) >= len(found[0]):  # deeper, or mounted later over the same point
                found = (point, fstype)
    return found


def on_own_filesystem(path: str, mountinfo: str | None = None) -> bool:
    """True when `path` lies on this container's own filesystem, not on a mount that outlives it."""
    if mountinfo is None:
        try:
            with open(MOUNTINFO, encoding="utf-8", errors="surrogateescape") as f:
                mountinfo = f.read()
        except OSError:
            return False  # no /proc to tell: not a container this check can judge
    found = holding_mount(os.path.realpath(path), mountinfo)
    return found is None or found[0] in CONTAINER_OWN or found[1] in PSEUDO
