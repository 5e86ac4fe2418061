"""Steps shared by deploy and rollback: repair what a killed run left, switch traffic, verify it.

Every switch goes through `switch_to`, which records the confirmed nginx file in the state right after nginx
confirms it, so a run killed at any later instant leaves a state that matches what nginx serves.
"""

from __future__ import annotations

from dataclasses import replace

from bluegreen import failpoints, health
from bluegreen.context import Context
from bluegreen.errors import DeployFailed
from bluegreen.live import Live, observe
from bluegreen.render import new_generation, render_upstream


def look(ctx: Context) -> Live:
    return observe(ctx.service, ctx.docker, ctx.gate, ctx.state)


def repair(ctx: Context, live: Live) -> Live:
    """Undo what a killed run left behind: an unconfirmed nginx file, an unfinished candidate."""
    if live.stale_lock:
        ctx.out.say("repair.stale_lock", pid=live.stale_lock.get("pid", "?"),
                    command=live.stale_lock.get("command", "?"))
    confirmed = live.state.loaded_config
    changed = False
    if confirmed is not None and live.disk != confirmed:
        ctx.out.say("repair.restore_file", path=ctx.service.upstream_file)
        ctx.gate.apply(confirmed, live.disk)
        changed = True
    for color in live.orphans():
        name = ctx.service.container(color)
        ctx.out.say("repair.remove_orphan", name=name)
        ctx.docker.remove(name, stop_timeout=ctx.service.stop_timeout)
        changed = True
    # Looking again costs a file read through the Docker API (~0.1 s of a one-second rollback): only after a
    # change. A stale lock needs no second look: this run holds the lock now.
    return look(ctx) if changed else replace(live, stale_lock=None)


def switch_to(ctx: Context, *, primary: str, backup: str | None, previous: str | None) -> str:
    """Render, test, swap, reload, confirm; returns the new file's text (already recorded as loaded)."""
    text = render_upstream(ctx.service, primary=primary, backup=backup, generation=new_generation())
    ctx.gate.apply(text, previous)
    failpoints.reach("nginx.reloaded")
    state = ctx.state.load()
    state.loaded_config = text
    ctx.state.save(state)
    return text


def restore(ctx: Context, text: str | None, current: str) -> None:
    """Put back the file that served before a failed step (and serve it again)."""
    if text is None:
        return
    ctx.gate.apply(text, current)
    state = ctx.state.load()
    state.loaded_config = text
    ctx.state.save(state)


def verify(ctx: Context, color: str) -> None:
    """Through the public entry, the way users come in; the answering color must be the new one."""
    result = health.verify_color(ctx.public_url(), ctx.service.health, color)
    if not result.ok:
        raise DeployFailed("verify.failed", url=ctx.public_url(), detail=result.detail)
    ctx.out.say("verify.ok", url=ctx.public_url(), detail=result.detail)
