"""Whether the rollback's quick path may act: the record bluegreen's last switch left (its ticket, written by
SharedDictSwitch.ticket) against what nginx answers on its admin socket now.

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
    return not_recorded(state, config_digest) or _changed_since(state, answer or {})


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


def _changed_since(state: Any, answer: dict) -> str | None:
    text = state.loaded_config
    if answer.get("color") != file_color(text) or answer.get("source") != "dict":
        return "color_moved"
    if answer.get("disk") != digest(text):
        return "file_edited"
    now, then = answer.get("workers"), state.quick.get("workers")
    # Every process nginx runs was there at the last switch (workers of an older load may have exited since).
    if not (isinstance(now, list) and now and isinstance(then, list)
            and {str(w) for w in now} <= {str(w) for w in then}):
        return "nginx_reloaded"
    return None
