"""The directory of nginx's admin sockets (`switch: shared-dict`, `nginx.admin_dir`): bluegreen's alone.

nginx creates its admin socket 0666; the directory decides who reaches it, and Docker creates a missing bind-mount
source as root, mode 0755 (and /run is emptied at every boot). So, before every use:

- `judge`: the directory as it is — None when it is bluegreen's alone (a real directory, owned by the user
  running bluegreen, no access for group or others), else what is wrong (`Loose`). `bluegreen doctor` and `status`
  say it; operations repair it first (`secure`: created 0700, or its mode set back to 0700; one it does not own is
  refused, exit 3).
- `survey`: the directory and bluegreen's key file together, as message ids — what `bluegreen doctor` calls.
- `unfit`: whether a socket in it may be spoken to at all. Not when others may write in the directory (they could
  have put a socket of their own there, to catch bluegreen's key), nor when the socket is not nginx's (a socket
  nginx's master made belongs to root, or to this user with a rootless engine).

The key nginx asks for (admin_key.py) refuses everyone else even in a directory of mode 0777; the directory keeps
the key from being sent anywhere else. Standard library only: the rollback's quick path checks both first.
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from bluegreen.errors import BlueGreenError, Inconsistent
from bluegreen.parts import admin_key

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# problem → (what `status` says, what an operation says: repaired, or refused)
_MESSAGES = {
    "missing": ("status.problem.admin_dir_missing", "repair.admin_dir_missing"),
    "not_dir": ("status.problem.admin_dir_not_dir", "admin.dir_not_dir"),
    "owner": ("status.problem.admin_dir_owner", "admin.dir_owner"),
    "open": ("status.problem.admin_dir_open", "repair.admin_dir_open"),
}


@dataclass(frozen=True)
class Loose:
    """Why a directory is not bluegreen's alone: `missing`, `not_dir` (a file, a symbolic link…), `owner` (another
    user's) or `open` (group or others have access)."""

    path: str
    problem: str
    mode: int = 0
    owner: int = -1
    user: int = -1

    @property
    def params(self) -> dict[str, str]:
        """The message parameters (status, doctor, the refusal)."""
        return {"path": self.path, "mode": f"{self.mode:04o}", "owner": str(self.owner), "user": str(self.user)}

    @property
    def problem_key(self) -> str:
        """What `status` says."""
        return _MESSAGES[self.problem][0]

    @property
    def action_key(self) -> str:
        """What an operation says: that it repaired it, or why it refuses."""
        return _MESSAGES[self.problem][1]

    @property
    def writable(self) -> bool:
        """Someone besides this user and root may create or replace a socket there."""
        if self.problem == "not_dir":
            return True
        if self.problem == "missing":
            return False
        return bool(self.mode & 0o022) or self.owner not in (0, self.user)

    @property
    def repairable(self) -> bool:
        """bluegreen can make it its own by itself (create it, or set its mode)."""
        return self.problem in ("missing", "open")


def judge(path: str, user: int | None = None) -> Loose | None:
    """None when `path` is a directory owned by `user` (default: the effective user) with mode 0700 or less."""
    user = os.geteuid() if user is None else user
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return Loose(path, "missing", user=user)
    except OSError:
        return Loose(path, "not_dir", user=user)
    return _judged(path, st, user)


def _judged(path: str, st: os.stat_result, user: int) -> Loose | None:
    mode = stat.S_IMODE(st.st_mode)
    if not stat.S_ISDIR(st.st_mode):
        return Loose(path, "not_dir", mode, st.st_uid, user)
    if st.st_uid != user:
        return Loose(path, "owner", mode, st.st_uid, user)
    if mode & 0o077:
        return Loose(path, "open", mode, st.st_uid, user)
    return None


def secure(path: str) -> Loose | None:
    """Make `path` bluegreen's alone before it is used: created 0700 when missing, its mode set to 0700 when group
    or others had access. Returns what was repaired (None: nothing to do); Inconsistent (exit 3, nothing changed)
    for a directory it cannot make its own (another user's, a link, not a directory)."""
    user = os.geteuid()
    found = judge(path, user)
    if found is None:
        return None
    if found.problem == "missing":
        try:
            os.mkdir(path, 0o700)
        except FileExistsError:
            pass  # made meanwhile (nginx's start, Docker): judged below like any other
        except OSError as exc:
            raise Inconsistent("admin.dir_uncreatable", path=path, error=exc.strerror or str(exc)) from None
    try:
        fd = os.open(path, _DIR_FLAGS)  # the directory itself, never through a link planted since the judgement
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            raise Inconsistent(_MESSAGES["not_dir"][1], **found.params) from None
        raise Inconsistent("admin.dir_uncreatable", path=path, error=exc.strerror or str(exc)) from None
    try:
        now = _judged(path, os.fstat(fd), user)
        if now is not None and now.problem != "open":
            raise Inconsistent(now.action_key, **now.params)
        if now is not None:
            os.fchmod(fd, 0o700)
    finally:
        os.close(fd)
    return found


def survey(path: str, key_file: Path) -> list[tuple[str, dict[str, str], bool]]:
    """Whether only bluegreen can speak on the admin sockets in `path`: (message id, its parameters, whether the next
    deploy/rollback repairs it by itself) for the directory (owner, mode, kind) and for bluegreen's key file
    (`key_file`, admin_key.path_for: missing, or one bluegreen would not send: another user's, readable by others,
    not what it writes, a link). Empty: both sound. Changes nothing; for `bluegreen doctor`."""
    found = []
    loose = judge(path)
    if loose is not None:
        found.append((loose.problem_key, loose.params, loose.repairable))
    try:
        key = admin_key.read(key_file)
    except BlueGreenError as exc:  # a link or a special file in its place: the operation refuses it too
        return [*found, (exc.key, {k: str(v) for k, v in exc.params.items()}, False)]
    if key is None:
        unused = "status.problem.admin_key_unusable" if os.path.lexists(key_file) else \
            "status.problem.admin_key_missing"
        found.append((unused, {"path": str(key_file)}, True))
    return found


def unfit(socket_path: str) -> tuple[str, dict[str, str]] | None:
    """Why bluegreen must not speak to `socket_path` (None: it may), as a message id and its parameters: its
    directory may be written by others, or the socket is not nginx's. A socket that does not exist (yet) is fit:
    connecting says so."""
    directory = os.path.dirname(socket_path) or "."
    loose = judge(directory)
    if loose is not None and loose.problem != "missing" and loose.writable:
        return "status.problem.admin_unfit_dir", {"socket": socket_path, **loose.params}
    try:
        st = os.lstat(socket_path)
    except OSError:
        return None
    if not stat.S_ISSOCK(st.st_mode):
        return "status.problem.admin_unfit_kind", {"socket": socket_path}
    if st.st_uid not in (0, os.geteuid()):
        return "status.problem.admin_unfit_owner", {"socket": socket_path, "owner": str(st.st_uid)}
    return None
