"""The rollback's quick path (`switch: shared-dict`): traffic moves before anything heavy is imported.

    the config file's bytes → lock (frame.lock_ahead) → the record of bluegreen's last switch (its ticket)
    → ask nginx on its admin socket: the color it serves, the processes it runs, the digest of its file on disk
    → probe the target through nginx itself → remember the new file as pending → PUT the target's color

It acts only when nginx confirms that nothing changed since bluegreen's last confirmed switch: the same config
file, no process started since (no reload), the file on disk as bluegreen wrote it, the dictionary serving the
recorded color, nothing pending or staged, no dead run's lock — and the target answers its health check over
nginx's own path to it. Anything else, or any doubt, and it changes nothing and leaves the whole rollback to the
full path, which looks through the Docker API, repairs and says what is wrong.

After the PUT the full Rollback runs in the same frame, holding the same lock (rollback.py): it checks the target's
container through Docker (the promoted release, its image) and puts the previous color back if that contradicts,
writes the file, verifies through the public entry and records history.

Imports: the standard library and bluegreen's light modules — not the Docker SDK, httpx, jinja2, click, PyYAML or
the config schema (tests/unit/test_entry.py keeps it so): those cost ~0.4 s of a rollback on 2 cores. The config
file is read as bytes: its digest must be the one the last switch recorded, which only a run that parsed and
checked it wrote (config_file.declared_state_dir says why that is enough to find the record).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from bluegreen import config_file, failpoints
from bluegreen.colors import COLORS, NAME, other
from bluegreen.errors import BlueGreenError
from bluegreen.operations.frame import lock_ahead
from bluegreen.parts import admin_socket
from bluegreen.parts.dict_file import digest, file_color, new_generation, recolor
from bluegreen.parts.quick_ticket import not_recorded, why_not
from bluegreen.parts.state import StateDir


@dataclass
class QuickSwitch:
    """Traffic is on `target`; `text` (the file naming it) is pending in the state; `state` holds the lock."""

    state: StateDir
    socket: str
    source: str
    target: str
    text: str
    previous: str
    phases: dict[str, float] = field(default_factory=dict)
    taken: bool = False  # the full Rollback took it over (else `undo` runs before the process exits)
    unsettled: bool = True  # until the file is written and the state confirmed (or the previous color restored)

    def undo(self) -> None:
        """Put the previous color back (nothing after the PUT ran: the CLI refused the rest)."""
        _put_back(self.state, self.socket, self.source)
        self.state.release()


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
    if not lock_ahead(state_dir, "rollback", service):
        return None
    try:
        switched = _switch(state_dir, config_digest, started)
    except Exception:  # any doubt: the full path looks again and says what it finds
        switched = None
    if switched is None:
        state_dir.release()
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
    if not state_dir.load().quick:  # no switch recorded a ticket (switch: reload, replicas, Swarm)
        return None
    return state_dir, digest(data)


def _switch(state_dir: StateDir, config_digest: str, started: float) -> QuickSwitch | None:
    state = state_dir.load()
    if not_recorded(state, config_digest):
        return None  # what the state alone shows: no need to ask nginx
    socket, previous = state.quick["socket"], state.loaded_config
    source = file_color(previous)
    try:
        answer = admin_socket.call(socket, "GET")
    except admin_socket.AdminUnreachable:
        return None
    if why_not(state, answer, config_digest) is not None:
        return None
    target = other(source)
    healthy, _ = admin_socket.probe(socket, target, timeout=float(state.quick.get("probe_timeout") or 5))
    if not healthy:
        return None  # the full path checks it again and names the reason
    text = recolor(previous, target, new_generation())
    state.pending = text  # written before the request: a run killed after it is repaired like any switch
    state_dir.save(state)
    looked = time.monotonic()
    failpoints.reach("rollback.quick_pending")
    try:
        answer = admin_socket.call(socket, "PUT", target)
    except admin_socket.AdminUnreachable:
        answer = {}
    if answer.get("color") != target or answer.get("previous") != source:
        # Not moved, or someone moved it between the look and the request (an operator's PUT): theirs serves again,
        # and the full path looks, adopts and says so.
        _put_back(state_dir, socket, answer.get("previous") if answer.get("previous") in COLORS else source)
        return None
    phases = {"quick_look": round(looked - started, 3), "switch_traffic": round(time.monotonic() - looked, 3)}
    failpoints.reach("rollback.quick_switched")
    return QuickSwitch(state_dir, socket, source, target, text, previous, phases)


def _put_back(state_dir: StateDir, socket: str, color: str) -> None:
    """`color` serves again and nothing is pending: as before the quick path's request."""
    try:
        admin_socket.call(socket, "PUT", color)
    except admin_socket.AdminUnreachable:
        pass  # best effort: the next run's look sees which color the dictionary holds and repairs
    state = state_dir.load()
    state.pending = None
    state_dir.save(state)
