"""The rollback's quick path: traffic moves before anything heavy is imported.

    the config file's bytes → lock (frame.lock_ahead) → the record of bluegreen's last switch (its ticket)
    → ask nginx: the color it serves, the processes it runs, the digest of its file on disk
    → probe the target → remember the new file as pending → move traffic

`switch: shared-dict` asks nginx on its admin socket, probes the target through nginx itself (`/probe/<color>`) and
moves traffic with one PUT. `switch: reload` sees nginx from the host through /proc (parts/host_nginx.py: the
master's workers, its file as nginx reads it), probes the target's instance at the address its container has now
(one request to the Docker Engine, parts/engine_address.py: the reload makes nginx resolve the name again),
looks at nginx once more immediately before it writes the file the last switch rendered for this rollback, and
reloads nginx with a signal, confirmed by its new workers — no Docker SDK, no `nginx -t`: the file differs from
the one nginx loaded last only in which color is primary (both colors' servers were in it), and a file nginx
refused leaves the old workers serving, which the confirmation sees.

It acts only when nginx confirms that nothing changed since bluegreen's last confirmed switch: the same config
file, no process started since (no reload), the file on disk as bluegreen wrote it, the color as recorded,
nothing pending or staged, no dead run's lock — and the target answers its health check. Anything else, or any
doubt, and it changes nothing and leaves the whole rollback to the full path, which looks through the Docker API,
repairs and says what is wrong.

On the admin socket it speaks only with bluegreen's key, and only in a directory that is bluegreen's alone (mode
0700, its owner) holding nginx's own socket (parts/admin_dir.py): anything else is the full path's to repair or
refuse.

After the move the full Rollback runs in the same frame, holding the same lock (rollback.py): it checks the
target's container through Docker (the promoted release, its image) and puts the previous color back if that
contradicts, writes (shared-dict) or confirms (reload) the file, verifies through the public entry and records
history.

Imports: the standard library and bluegreen's light modules — not the Docker SDK, httpx, jinja2, click, PyYAML or
the config schema (tests/unit/test_entry.py keeps it so): those cost ~0.4 s of a rollback on 2 cores. The config
file is read as bytes: its digest must be the one the last switch recorded, which only a run that parsed and
checked it wrote (config_file.declared_state_dir says why that is enough to find the record).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from bluegreen import failpoints
from bluegreen.config import file as config_file
from bluegreen.colors import COLORS, NAME, other
from bluegreen.errors import BlueGreenError
from bluegreen.operations.frame import lock_ahead
from bluegreen.parts import admin_dir, admin_key, admin_socket, engine_address, host_nginx
from bluegreen.files import digest
from bluegreen.parts.dict_file import new_generation, recolor, regenerate
from bluegreen.parts.quick_ticket import (RELOAD, not_recorded, reload_answer, reload_unchanged, source_color,
                                         why_not)
from bluegreen.parts.state import StateDir


class _SharedDict:
    """nginx's admin socket: look, probe through nginx, one PUT."""

    def __init__(self, state_dir: StateDir, ticket: dict) -> None:
        self.state_dir, self.socket = state_dir, ticket["socket"]
        self.probe_timeout = float(ticket.get("probe_timeout") or 5)
        self.key = admin_key.read(admin_key.path_for(state_dir.root, state_dir.service))

    def look(self) -> dict | None:
        if self.key is None or admin_dir.judge(os.path.dirname(self.socket)) or admin_dir.unfit(self.socket):
            return None  # no key yet, or a directory that is not bluegreen's alone: the full path repairs or refuses
        try:
            return admin_socket.call(self.socket, "GET", key=self.key)
        except admin_socket.AdminUnreachable:
            return None

    def probe(self, target: str) -> bool:
        return admin_socket.probe(self.socket, target, timeout=self.probe_timeout, key=self.key)[0]

    def text_for(self, previous: str, target: str) -> str:
        return recolor(previous, target, new_generation())

    def move(self, source: str, target: str, text: str, previous: str, answer: dict) -> bool:
        try:
            moved = admin_socket.call(self.socket, "PUT", target, key=self.key)
        except admin_socket.AdminUnreachable:
            moved = {}
        if moved.get("color") == target and moved.get("previous") == source:
            return True
        # Not moved, or someone moved it between the look and the request (an operator's PUT): theirs serves again,
        # and the full path looks, adopts and says so.
        self.put_back(moved.get("previous") if moved.get("previous") in COLORS else source, previous)
        return False

    def put_back(self, color: str, previous: str) -> None:
        """`color` serves again and nothing is pending: as before the quick path's request. Only nginx's answer
        naming `color` says so: without it (lost, or another color) the new file stays pending, as a killed run's
        would — nginx may have applied the switch whose answer was lost, and a target served with nothing pending
        would look like an operator's switch to adopt and roll back from. The next look sees which color the
        dictionary holds and repairs."""
        try:
            answer = admin_socket.call(self.socket, "PUT", color, key=self.key)
        except admin_socket.AdminUnreachable:
            return
        if answer.get("color") == color:
            _clear_pending(self.state_dir)


class _Reload:
    """nginx seen from the host (parts/host_nginx.py): its workers and file through /proc, a probe of the target's
    instance where nginx will find it, the file swapped (nginx looked at again just before) and nginx reloaded with
    a signal."""

    def __init__(self, state_dir: StateDir, ticket: dict) -> None:
        self.state_dir, self.ticket = state_dir, ticket
        self.master, self.path = ticket["master"], ticket["path"]

    def look(self) -> dict | None:
        return reload_answer(self.ticket)

    def probe(self, target: str) -> bool:
        """The target's health path where nginx's reload will find it: the address Docker gives its container's
        name now (parts/engine_address.py), not the one the last switch saw."""
        ip = engine_address.address(self.ticket["instance"], self.ticket["network"])
        if ip is None:
            return False  # not running, not on the network, or Docker not reachable this way: the full path looks
        timeout = float(self.ticket.get("probe_timeout") or 5)
        return admin_socket.probe_address(f"{ip}:{self.ticket['port']}", self.ticket["health_path"],
                                          timeout=timeout)[0]

    def text_for(self, previous: str, target: str) -> str:
        return regenerate(self.ticket["rollback"], new_generation())

    def move(self, source: str, target: str, text: str, previous: str, answer: dict) -> bool:
        try:
            installed = host_nginx.install(self.master, self.path, text.encode("utf-8"),
                                           backup=previous.encode("utf-8"),
                                           still=lambda: reload_unchanged(previous, self.ticket))
        except OSError:
            installed = False  # not renamed: the file is still the previous one
        if not installed:  # or nginx changed since the look (an operator's edit or reload): theirs stays
            _clear_pending(self.state_dir)
            return False
        failpoints.reach("rollback.quick_installed")
        if host_nginx.reload(self.master, answer["workers"], float(self.ticket.get("reload_timeout") or 10)):
            return True
        # Not confirmed: nginx refused the file (the old workers serve), or is slow to apply it. The new file stays
        # pending, as a killed run's would: the full path looks at what nginx serves, repairs, tests and says why.
        return False

    def put_back(self, color: str, previous: str) -> None:
        """The previous file serves again (reloaded, confirmed) and nothing is pending."""
        before = host_nginx.workers(self.master) or []
        try:
            host_nginx.install(self.master, self.path, previous.encode("utf-8"))
        except OSError:
            return  # the pending file stays: the next run's look repairs it
        workers = host_nginx.reload(self.master, before, float(self.ticket.get("reload_timeout") or 10))
        if workers is None:
            return  # not confirmed: still pending, repaired by the next run
        state = self.state_dir.load()
        state.pending, state.workers = None, sorted(workers)
        if state.quick:
            state.quick = {**state.quick, "workers": sorted(workers)}  # bluegreen's own reload, of its own file
        self.state_dir.save(state)


@dataclass
class QuickSwitch:
    """Traffic is on `target`; `text` (the file naming it) is pending in the state; `state` holds the lock."""

    state: StateDir
    nginx: _SharedDict | _Reload
    source: str
    target: str
    text: str
    previous: str
    phases: dict[str, float] = field(default_factory=dict)
    taken: bool = False  # the full Rollback took it over (else `undo` runs before the process exits)
    unsettled: bool = True  # until the file is written and the state confirmed (or the previous color restored)

    def undo(self) -> None:
        """Put the previous color back (nothing after the move ran: the CLI refused the rest)."""
        self.nginx.put_back(self.source, self.previous)
        self.state.unlock()


def attempt(config: str | None, service: str) -> QuickSwitch | None:
    """Switch `service` back to its other color if nginx confirms nothing changed (see the module docstring);
    None, with nothing changed and no lock held, when the full path must do the rollback."""
    started = time.monotonic()
    try:
        found = _ticketed(config, service)
    except (BlueGreenError, OSError):  # an unreadable config or state: the full path says what is wrong
        return None
    if found is None:
        return None
    state_dir, config_digest = found
    try:
        if not lock_ahead(state_dir, "rollback", service):
            return None
    except (BlueGreenError, OSError):  # a lock file holding junk: the full path refuses and says so
        return None
    try:
        switched = _switch(state_dir, config_digest, started)
    except Exception:  # any doubt: the full path looks again and says what it finds
        switched = None
    if switched is None:
        state_dir.unlock()
    return switched


def _ticketed(config: str | None, service: str) -> tuple[StateDir, str] | None:
    """The service's state directory and the config file's digest, when a switch left a ticket there."""
    path = config_file.config_path(config)
    data = config_file.read(path)
    written = config_file.declared_state_dir(data)
    if written is None or not NAME.fullmatch(service):  # the name makes a path below: only what the schema allows
        return None
    root = Path(config_file.state_dir(written, path))
    if not root.is_dir():
        return None  # no switch was ever recorded there
    state_dir = StateDir(root, service)
    if not state_dir.load().quick:  # no switch recorded a ticket (replicas, Swarm, a hand switch adopted)
        return None
    return state_dir, digest(data)


def _switch(state_dir: StateDir, config_digest: str, started: float) -> QuickSwitch | None:
    state = state_dir.load()
    if not_recorded(state, config_digest):
        return None  # what the state alone shows: no need to ask nginx
    nginx = (_Reload if state.quick.get("kind") == RELOAD else _SharedDict)(state_dir, state.quick)
    previous, source = state.loaded_config, source_color(state)
    answer = nginx.look()
    if answer is None or why_not(state, answer, config_digest) is not None:
        return None
    target = other(source)
    if not nginx.probe(target):
        return None  # the full path checks it again and names the reason
    text = nginx.text_for(previous, target)
    state.pending = text  # written before the move: a run killed after it is repaired like any switch
    state_dir.save(state)
    looked = time.monotonic()
    failpoints.reach("rollback.quick_pending")
    if not nginx.move(source, target, text, previous, answer):
        return None
    phases = {"quick_look": round(looked - started, 3), "switch_traffic": round(time.monotonic() - looked, 3)}
    failpoints.reach("rollback.quick_switched")
    return QuickSwitch(state_dir, nginx, source, target, text, previous, phases)


def _clear_pending(state_dir: StateDir) -> None:
    state = state_dir.load()
    state.pending = None
    state_dir.save(state)
