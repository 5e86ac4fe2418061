"""Checks of this host as bluegreen sees it: the admin socket's directory (switch: shared-dict), state_dir, and
whether the rollback's quick path can see nginx from here."""

from __future__ import annotations

import posixpath
import stat

from bluegreen.parts.facts import FAIL, OK, WARN, Facts, Finding

# state_dir: a run rewrites state.json (at most 4 MiB, parts/state.py) beside the old one and appends a history
# line; 16 MiB is that worst case twice over. Below it a deploy is refused: it would stop at its first write, as a
# killed run does. 256 MiB warns early: state_dir usually shares a filesystem with Docker's images and logs, which
# fill it by hundreds of MiB at a time (one image pull).
SPACE_REFUSED = 16 << 20
SPACE_LOW = 256 << 20


def admin_dir(f: Facts) -> Finding:
    """nginx's admin socket is created 0666: the directory is the only guard, so it must be ours alone. Docker
    creates a missing bind-mount source as root, 0755, and /run is emptied at every boot."""
    if f.nginx_settings.switch != "shared-dict" or f.admin_dir is None:
        return Finding("admin_dir", OK, "doctor.admin_dir.not_needed")
    a = f.admin_dir
    nginx = f.nginx_container.name if f.nginx_container else f.nginx.container
    params = {"path": a.path, "user": f.owner, "nginx": nginx}
    if not a.exists:
        return _refused("doctor.admin_dir.missing", params, "doctor.fix.admin_dir_create")
    if a.kind != "directory":
        return _refused("doctor.admin_dir.not_dir", {**params, "kind": a.kind}, "doctor.fix.admin_dir_replace")
    if a.uid != f.user:
        return _refused("doctor.admin_dir.owner", {**params, "owner": str(a.uid)}, "doctor.fix.admin_dir_owner")
    if a.mode & 0o077:  # nginx admits only bluegreen's key, and the next deploy or rollback sets it back to 0700
        loose = {**params, "mode": _mode(a.mode)}
        return Finding("admin_dir", WARN, "doctor.admin_dir.open", loose, "doctor.fix.admin_dir_mode", loose)
    if f.nginx_container is not None and not _mounted(f.nginx_container.mounts, a.path):
        return _refused("doctor.admin_dir.not_mounted", params, "doctor.fix.admin_dir_mount")
    if a.tmpfs:
        return Finding("admin_dir", WARN, "doctor.admin_dir.emptied_at_boot", params, "doctor.fix.admin_dir_boot",
                       params)
    return Finding("admin_dir", OK, "doctor.admin_dir.ok", params)


def _refused(key: str, params: dict[str, str], fix: str) -> Finding:
    return Finding("admin_dir", FAIL, key, params, fix, params, refuses=True)


def _mounted(mounts: tuple[tuple[str, str, str], ...], path: str) -> bool:
    """A bind mount shows the host's `path` inside the container at the same path (or a parent directory does)."""
    for kind, source, destination in mounts:
        inside = posixpath.relpath(path, destination) if destination.startswith("/") else ".."
        if kind == "bind" and not inside.startswith(".."):
            if posixpath.normpath(posixpath.join(source, inside)) == path:
                return True
    return False


def state_dir(f: Facts) -> Finding:
    s, declared = f.state_dir, f.declared_state_dir
    params = {"path": s.path, "declared": declared, "user": f.owner}
    if not declared.startswith("/"):
        # Relative to bluegreen.yml: in Jenkins, each job's workspace. The deploy and the Rollback job would keep
        # two states and two locks (a rollback during a deploy), and a clean checkout erases the history.
        return Finding("state_dir", FAIL, "doctor.state_dir.relative", params, "doctor.fix.state_dir_absolute",
                       params)
    if s.exists and s.kind != "directory":
        return Finding("state_dir", FAIL, "doctor.state_dir.not_dir", {**params, "kind": s.kind},
                       "doctor.fix.state_dir_not_dir", params, refuses=True)
    if s.exists and s.uid not in (f.user, 0):
        return Finding("state_dir", FAIL, "doctor.state_dir.owner", {**params, "owner": str(s.uid)},
                       "doctor.fix.state_dir_owner", params, refuses=True)
    if s.exists and s.mode & 0o022:
        return Finding("state_dir", FAIL, "doctor.state_dir.open", {**params, "mode": _mode(s.mode)},
                       "doctor.fix.state_dir_mode", params, refuses=True)
    space = {**params, "free": _size(s.free), "low": _size(SPACE_LOW)}
    if s.free is not None and s.free < SPACE_REFUSED:
        return Finding("state_dir", FAIL, "doctor.state_dir.full", {**space, "low": _size(SPACE_REFUSED)},
                       "doctor.fix.state_dir_space", space, refuses=True)
    if s.free is not None and s.free < SPACE_LOW:
        return Finding("state_dir", WARN, "doctor.state_dir.low", space, "doctor.fix.state_dir_space", space)
    return Finding("state_dir", OK, "doctor.state_dir.ok" if s.exists else "doctor.state_dir.not_yet", space)


def quick_rollback(f: Facts) -> Finding | None:
    """Whether the next rollback moves traffic first (status's served.quick_rollback) and, above all, whether it
    ever can from here: with switch: reload it reads nginx's processes through /proc, so bluegreen must run in the
    host's PID namespace; with shared-dict it speaks to the admin socket."""
    if not f.complete:
        return None
    svc = f.service
    if svc.scale.replicas != 1 or svc.scale.runtime != "containers":
        return Finding("quick_rollback", OK, "doctor.quick_rollback.not_applicable")
    reload = f.nginx_settings.switch == "reload"
    if not f.nginx.sees_master:
        if reload:
            return Finding("quick_rollback", WARN, "doctor.quick_rollback.unseen", {"nginx": f.nginx.container},
                           "doctor.fix.pid_host")
        if f.quick in (None, "no_ticket"):
            return Finding("quick_rollback", OK, "doctor.quick_rollback.first_switch")
        return Finding("quick_rollback", WARN, "doctor.quick_rollback.no_socket", {"service": svc.name},
                       "doctor.fix.admin_socket", {"service": svc.name})
    if f.quick == "ready":
        return Finding("quick_rollback", OK, "doctor.quick_rollback.ready")
    if f.quick in (None, "no_ticket"):
        return Finding("quick_rollback", OK, "doctor.quick_rollback.after_switch")
    return Finding("quick_rollback", OK, "doctor.quick_rollback.not_now", {"reason": f.quick})


def _mode(mode: int) -> str:
    return f"{stat.S_IMODE(mode):04o}"


def _size(n: int | None) -> str:
    if n is None:
        return "?"
    if n < 1 << 20:
        return f"{n / 1024:.0f} KiB"
    return f"{n / (1 << 20):.0f} MiB" if n < 1 << 30 else f"{n / (1 << 30):.1f} GiB"
