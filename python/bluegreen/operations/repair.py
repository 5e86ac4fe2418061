"""Repair and adopt, at the start of every run that changes something (under the lock, after the look): undo what
a killed run left behind, adopt what an operator did on purpose, refuse what is unclear. Every change goes through
the frame (operations/frame.py), which writes the state around it and records history."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from bluegreen.colors import other
from bluegreen.errors import Inconsistent
from bluegreen.operations.drain import drain
from bluegreen.parts.state import now_iso

if TYPE_CHECKING:
    from bluegreen.operations.frame import Frame
    from bluegreen.operations.look import Live


def repair(frame: Frame, live: Live) -> Live:
    """Undo what a killed run left behind, adopt what an operator did on purpose, refuse what is unclear."""
    scene, out, svc = frame.scene, frame.scene.out, frame.scene.service
    if live.stale_lock:
        out.say("repair.stale_lock", pid=live.stale_lock.get("pid", "?"),
                command=live.stale_lock.get("command", "?"))
    if live.edited_not_loaded:
        raise Inconsistent("repair.edited_not_loaded", path=svc.upstream_file, nginx=scene.nginx.container)
    refusal = live.refusal  # what nginx serves cannot be told, or is not served from bluegreen's file
    if refusal is not None:
        raise Inconsistent("repair.refused", problem=out.text(refusal.key, **refusal.params))
    changed = False
    if live.loaded_outside:
        adopt(frame, live)
    elif live.leftover_file and live.served.loaded == live.state.loaded_config:
        # nginx never loaded the interrupted run's file and serves the confirmed one: only the disk needs it
        # back. No `nginx -t`, no reload: nothing nginx serves changes (no keep-alive connection is closed),
        # and a broken file of someone else's in nginx cannot stop the repair.
        out.say("repair.restore_file", path=svc.upstream_file)
        frame.rewrite(live.state.loaded_config)
        changed = True
    elif live.unfinished_switch or live.leftover_file:
        out.say("repair.restore_file", path=svc.upstream_file)
        frame.restore(live.state.loaded_config, live.served.disk or "")
        changed = True
    elif live.stale and live.active:  # Swarm replaced a task: name the addresses its tasks have now
        out.say("repair.refresh_servers", addresses=", ".join(live.stale), path=svc.upstream_file)
        frame.switch(primary=live.active, backup=live.backup if live.running(live.backup) else None,
                    previous=live.served.loaded)
        changed = True
    for color in live.orphans():
        name = svc.container(color)
        out.say("repair.remove_orphan", name=name)
        scene.runtime.remove(color, grace=svc.stop_timeout)
        changed = True
    if _settle_kept(frame, live):
        changed = True
    # Looking again costs a file read through the Docker API (~0.1 s of a one-second rollback): only after a
    # change. A stale lock needs no second look: this run holds the lock now.
    return scene.look() if changed else replace(live, stale_lock=None, problems=())

def _settle_kept(frame: Frame, live: Live) -> bool:
    """A previous version a killed deploy set aside: discarded when the candidate that replaced it was
    promoted, else put back (and nginx reloaded if it names the color, so it resolves the container anew)."""
    scene, out = frame.scene, frame.scene.out
    staged = (live.state.staged or {}).get("color")
    settled = False
    for color, kept in live.kept.items():
        if color == staged:
            continue  # a staged deploy keeps it until promote or abort
        current = live.instance(color)
        if current is not None and live.promoted(color):
            out.say("repair.discard_kept", name=kept.name)
            scene.runtime.discard_kept(color)
        else:
            out.say("repair.put_back_kept", name=scene.service.container(color))
            moved = current is not None and _serve_elsewhere(frame, live, color)
            if current is not None:  # a candidate nginx served finishes what it still answers
                scene.runtime.remove(color, grace=drain(frame, color) if moved else scene.service.stop_timeout)
            scene.runtime.put_back(color)
            fresh = scene.look()
            if moved and fresh.running(other(color)):  # as before the killed deploy: the other color serves
                frame.switch(primary=other(color), backup=color, previous=fresh.served.loaded)
            elif color in (fresh.active, fresh.backup) and fresh.served.loaded:
                frame.restore(fresh.served.loaded, fresh.served.loaded)
        settled = True
    return settled


def _serve_elsewhere(frame: Frame, live: Live, color: str) -> bool:
    """Before the unpromoted candidate on `color` goes, nginx stops naming it: the other color serves alone (a
    container nginx names is never stopped). False when nginx does not name it, or the other color does not run
    (then nothing else could serve, and the guard refuses to remove what serves)."""
    if color not in (live.active, live.backup) or not live.running(other(color)):
        return False
    frame.switch(primary=other(color), backup=None, previous=live.served.loaded)
    return True

def adopt(frame: Frame, live: Live) -> None:
    """A person edited the upstream file and nginx loaded it: that is now the truth. Never switched back;
    recorded in history as what it was (a switch to another color, or an edit)."""
    scene, svc = frame.scene, frame.scene.service
    since = now_iso(live.served.since) if live.served.since else now_iso()
    before = live.remembered_active
    if live.switched_outside:
        scene.out.say("repair.adopt_outside", color=live.active or "-", previous=before or "-", since=since)
    else:
        scene.out.say("repair.adopt_edit", path=svc.upstream_file, since=since)
    if live.served.loaded != live.served.disk and live.served.disk is not None:
        # Served without a reload (an operator's switch on the shared dictionary's socket): the file is made
        # to name it too, so an nginx restart stays where the operator put traffic.
        frame.serve(live.served.loaded, live.served.disk)
    else:
        state = scene.state.load()
        state.loaded_config, state.workers = live.served.loaded, sorted(live.served.generation.workers)
        scene.state.save(state)
    from bluegreen.report import Report

    action, key = (("outside_switch", "history.outside_switch") if live.switched_outside
                   else ("outside_edit", "history.outside_edit"))
    frame.record(Report(service=svc.name, action=action, source=before, target=live.active, started_at=since,
                        reason=scene.out.text(key, path=svc.upstream_file)))
