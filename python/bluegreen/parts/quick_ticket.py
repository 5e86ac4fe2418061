"""The rollback's quick path's ticket: the record each confirmed shared-dict switch leaves (`make`), and whether the
quick path may act on it (`why_not`): that record against what nginx answers on its admin socket now.

Used by the quick path itself (operations/quick_rollback.py) and by `status`, which says ahead of an incident
whether the next rollback moves traffic first or takes the full path, and why. Standard library only: the quick
path imports it before anything heavy.
"""

from __future__ import annotations

from typing import Any

from bluegreen.colors import COLORS
from bluegreen.parts.dict_file import digest, file_color

# Why not, in the order they are checked (None: ready). Message ids: status.quick.<reason>.
REASONS = ("no_ticket", "config_changed", "busy", "color_moved", "file_edited", "nginx_reloaded")


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


def not_recorded(state: Any, config_digest: str | None) -> str | None:
    """What the state alone shows: no ticket, another config file, or a switch or stage under way."""
    ticket = state.quick or {}
    text = state.loaded_config
    if (not ticket or file_color(text) not in COLORS or not isinstance(ticket.get("socket"), str)
            or ticket.get("text") != digest(text)):
        # switch: reload, replicas, Swarm, no switch since bluegreen records tickets, or a state that changed
        # without one of its switches (a hand switch it adopted)
        return "no_ticket"
    if ticket.get("config") != config_digest:
        return "config_changed"
    if state.pending is not None or state.staged is not None:
        return "busy"  # an unfinished switch, or a deploy staged for promotion
    return None


def _changed_since(text: str | None, ticket: dict, answer: dict) -> str | None:
    if answer.get("color") != file_color(text) or answer.get("source") != "dict":
        return "color_moved"
    if answer.get("disk") != digest(text):
        return "file_edited"
    now, then = answer.get("workers"), ticket.get("workers")
    # Every process nginx runs was there at the last switch (workers of an older load may have exited since).
    if not (isinstance(now, list) and now and isinstance(then, list)
            and {str(w) for w in now} <= {str(w) for w in then}):
        return "nginx_reloaded"
    return None
