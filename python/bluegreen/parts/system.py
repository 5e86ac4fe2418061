"""What `bluegreen doctor` and a deploy's first checks read of the system, once (checks/ judges it): one
`nginx -V` + `nginx -T`, one inspect per container, one engine info, and `lstat`/`statvfs` of the admin and state
directories — never created, never followed, nothing changed.

The deploy reads the cheap part only (`complete=False`): no list of every container, no access-log links, no look
at the quick path's record.
"""

from __future__ import annotations

import os
import pwd
import stat
import sys
from pathlib import Path

from bluegreen.parts.facts import Facts, NginxFacts, PathFacts
from bluegreen.errors import BlueGreenError, Unreachable
from bluegreen.parts import host_nginx
from bluegreen.parts.engine import ContainerFacts
from bluegreen.parts.state import StateDir
from bluegreen.parts.state_files import kind_of
from bluegreen.parts.switch import Record, ReloadSwitch
from bluegreen.config.settings import COLORS, Config, Service


def gather(config: Config, service: Service, switch: ReloadSwitch, *, complete: bool) -> Facts:
    control = switch.control
    docker = control.docker
    checked = control.check()
    seen: dict[str, ContainerFacts | None] = {}

    def facts(name: str) -> ContainerFacts | None:
        if name not in seen:
            seen[name] = docker.facts(name)
        return seen[name]

    colors = {} if service.scale.runtime == "swarm" else \
        {c: tuple(x for x in map(facts, service.expected(c)) if x is not None) for c in COLORS}
    nginx = NginxFacts(control.container, checked.version, checked.configure, checked.dump, checked.error)
    state = path_facts(str(config.state_dir))
    admin = path_facts(config.nginx.admin_dir) if config.nginx.switch == "shared-dict" else None
    base = dict(service=service, nginx_settings=config.nginx, engine=docker.engine(),
                nginx_container=facts(control.container), colors=colors, state_dir=state,
                declared_state_dir=config.declared_state_dir, user=os.geteuid(), user_name=_name(os.geteuid()),
                python=tuple(sys.version_info[:3]), admin_dir=admin)
    if not complete:
        return Facts(nginx=nginx, complete=False, **base)
    sees, quick = _quick(switch, service, state)
    named: dict[str, ContainerFacts] = {}
    links: dict[str, str] = {}
    if checked.dump is not None:  # else the checks that read the configuration are skipped
        containers = set(docker.names())
        found = {m.host: facts(m.host) for m in checked.dump.resolved_at_load() if m.host in containers}
        named = {name: c for name, c in found.items() if c is not None}
        links = control.links(sorted({d.args[0] for d, _ in checked.dump.walk()
                                   if d.name == "access_log" and d.args and d.args[0].startswith("/")}))
    nginx = NginxFacts(control.container, checked.version, checked.configure, checked.dump, checked.error, links, sees)
    return Facts(nginx=nginx, named=named, quick=quick, **base)


def _quick(switch: ReloadSwitch, service: Service, state: PathFacts) -> tuple[bool, str | None]:
    """Whether the rollback's quick path sees nginx from here (reload: its master through /proc; shared-dict: the
    admin socket answers), and status's verdict on the next rollback when the state can be read as it is."""
    if switch.mode == "reload":
        master = switch.control.master()
        sees = master is not None and host_nginx.is_master(master)
    else:
        try:
            switch.ask()  # type: ignore[attr-defined]
            sees = True
        except Unreachable:
            sees = False
    if not (state.exists and state.kind == "directory" and state.uid in (os.geteuid(), 0) and not state.mode & 0o022):
        return sees, None  # the state_dir check says why; nothing is created here
    try:
        current = StateDir(Path(state.path), service.name).load()
        if sees and switch.mode != "reload":  # the quick verdict of shared-dict judges the look's answer
            switch.look(Record(current.loaded_config, frozenset(current.workers), current.pending))
        return sees, switch.quick_readiness(current)
    except BlueGreenError:
        return sees, None


def path_facts(path: str) -> PathFacts:
    """A directory as lstat sees it (a link is not followed), with the room left on its filesystem (or on its
    nearest existing parent's, when it does not exist yet)."""
    path = os.path.abspath(path)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return PathFacts(path, exists=False, kind="", free=_free(path), tmpfs=_tmpfs(path))
    except OSError as exc:  # a parent this user may not search, or one that is a file
        return PathFacts(path, kind=f"path that cannot be read ({exc.strerror})", free=None)
    kind = "regular file" if stat.S_ISREG(st.st_mode) else kind_of(st.st_mode)  # kind_of names odd state files
    return PathFacts(path, kind=kind, uid=st.st_uid, mode=st.st_mode & 0o7777, free=_free(path),
                     tmpfs=_tmpfs(path))


def _name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:  # a uid without a name (a container's user): the fixes say the number
        return ""


def _free(path: str) -> int | None:
    while True:
        try:
            found = os.statvfs(path)
            return found.f_bavail * found.f_frsize
        except FileNotFoundError:
            if path == os.path.dirname(path):
                return None
            path = os.path.dirname(path)
        except OSError:
            return None


def _tmpfs(path: str) -> bool:
    """The filesystem holding `path` is emptied at boot (tmpfs, as /run is): the longest mount point above it."""
    try:
        with open("/proc/self/mounts", encoding="utf-8") as mounts:
            table = [line.split()[1:3] for line in mounts if len(line.split()) >= 3]
    except OSError:
        return False
    above = [(point, kind) for point, kind in table if path == point or path.startswith(point.rstrip("/") + "/")]
    return bool(above) and max(above, key=lambda m: len(m[0]))[1] == "tmpfs"
