"""The rollback's quick path's ticket: the record each confirmed switch leaves (`make`, `make_reload`), and whether
the quick path may act on it (`why_not`): that record against what nginx answers now — on its admin socket
(`switch: shared-dict`), or seen from the host through /proc (`switch: reload`, `reload_answer`).

Used by the quick path itself (quick/rollback.py) and by `status`, which says ahead of an incident
whether the next rollback moves traffic first or takes the full path, and why. Standard library only: the quick
path imports it before anything heavy.
"""

from __future__ import annotations

from typing import Any

from bluegreen.colors import COLORS
from bluegreen.parts import host_nginx
from bluegreen.files import digest
from bluegreen.parts.dict_file import file_color

# Why not, in the order they are checked (None: ready). Message ids: status.quick.<reason>.
REASONS = ("no_ticket", "config_changed", "busy", "nginx_unseen", "color_moved", "file_edited", "nginx_reloaded")
RELOAD = "reload"  # the ticket's kind with `switch: reload` (a shared-dict ticket has none: older states)


def why_not(state: Any, answer: dict | None, config_digest: str | None) -> str | None:
    """None when the quick path may act on `state` (a ServiceState) given nginx's `answer` to `GET /color`, else
    the first reason it may not (REASONS)."""
    return not_recorded(state, config_digest) or _changed_since(state.loaded_config, state.quick, answer or {})


def make(text: str, answer: dict, *, config_digest: str, socket: str, probe_timeout: float) -> dict | None:
    """The ticket for `text` just confirmed, from nginx's `answer` now (None when nginx does not agree with `text`
    or gives no evidence, such as a kernel that does not list its processes): which config this was, the socket,
    the text (by digest), the processes nginx runs, how long to wait for the target's probe."""
    workers = answer.get("workers")
    ticket = {"config": config_digest, "socket": socket, "text": digest(text),
              "workers": sorted(str(w) for w in workers) if isinstance(workers, list) else None,
              "probe_timeout": probe_timeout}
    return None if _changed_since(text, ticket, answer) else ticket


def make_reload(text: str, *, color: str, config_digest: str, master: int, path: str, workers: list[str],
                rollback: str, instance: str, network: str, port: int, health_path: str, probe_timeout: float,
                reload_timeout: float) -> dict | None:
    """The ticket for `text` (serving `color`) just confirmed by a reload: nginx's master and its workers, the file's
    path in the container, the text a rollback installs (`rollback`, rendered now: the other color primary) and
    its instance (the container's name, the network where nginx reaches it, the port: its address is asked of
    Docker at the rollback, as nginx's reload resolves the name then). None when nginx does not agree with `text`.
    Kept when nginx cannot be seen from here (another PID namespace): never usable then (no workers recorded), but
    status says why."""
    ticket = {"kind": RELOAD, "config": config_digest, "master": master, "path": path, "color": color,
              "text": digest(text), "workers": sorted(str(w) for w in workers), "rollback": rollback,
              "instance": instance, "network": network, "port": port, "health_path": health_path,
              "probe_timeout": probe_timeout, "reload_timeout": reload_timeout}
    return None if _changed_since(text, ticket, reload_answer(ticket)) not in (None, "nginx_unseen") else ticket


def reload_answer(ticket: dict) -> dict:
    """What nginx shows from the host now, in the shape of the admin socket's answer: whether the ticket's master
    still runs (and is visible), its current workers, the digest of the file it reads."""
    master, path = ticket.get("master"), ticket.get("path")
    seen = isinstance(master, int) and isinstance(path, str) and host_nginx.is_master(master)
    if not seen:
        return {"master": False}
    return {"master": True, "workers": host_nginx.workers(master), "disk": digest(host_nginx.read_file(master, path))}


def reload_unchanged(text: str | None, ticket: dict) -> bool:
    """nginx, seen from the host now, is still as `ticket` recorded it for `text` (the same master, no process
    started since, the file on disk as bluegreen wrote it): the reload quick path's last look, taken again
    immediately before it installs — an operator's edit or reload while the target was probed is never
    overwritten."""
    return _changed_since(text, ticket, reload_answer(ticket)) is None


def source_color(state: Any) -> str | None:
    """The color the confirmed text serves (the recorded ticket's, with `switch: reload`)."""
    ticket = state.quick or {}
    return ticket.get("color") if ticket.get("kind") == RELOAD else file_color(state.loaded_config)


def _complete(ticket: dict, text: str | None) -> bool:
    if ticket.get("kind") == RELOAD:
        port = ticket.get("port")
        return (ticket.get("color") in COLORS and isinstance(ticket.get("master"), int)
                and type(port) is int and 0 < port < 65536
                and all(isinstance(ticket.get(k), str) for k in ("path", "rollback", "instance", "network",
                                                                "health_path")))
    return file_color(text) in COLORS and isinstance(ticket.get("socket"), str)


def not_recorded(state: Any, config_digest: str | None) -> str | None:
    """What the state alone shows: no ticket, another config file, or a switch or stage under way."""
    ticket = state.quick or {}
    text = state.loaded_config
    if not ticket or not _complete(ticket, text) or ticket.get("text") != digest(text):
        # switch: reload, replicas, Swarm, no switch since bluegreen records tickets, or a state that changed
        # without one of its switches (a hand switch it adopted)
        return "no_ticket"
    if ticket.get("config") != config_digest:
        return "config_changed"
    if state.pending is not None or state.staged is not None:
        return "busy"  # an unfinished switch, or a deploy staged for promotion
    return None


def _changed_since(text: str | None, ticket: dict, answer: dict) -> str | None:
    if ticket.get("kind") == RELOAD:
        if not answer.get("master"):  # restarted, or not visible from this PID namespace
            return "nginx_unseen"
    elif answer.get("color") != file_color(text) or answer.get("source") != "dict":
        return "color_moved"
    if answer.get("disk") != digest(text):
        return "file_edited"
    now, then = answer.get("workers"), ticket.get("workers")
    # Every process nginx runs was there at the last switch (workers of an older load may have exited since).
    if not (isinstance(now, list) and now and isinstance(then, list)
            and {str(w) for w in now} <= {str(w) for w in then}):
        return "nginx_reloaded"
    return None
