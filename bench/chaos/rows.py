"""The fault rows of issue 15. Each row: the fault, injected at a failpoint (never by timing), the command it hits,
the undo of the fault (what an operator fixes; not a bluegreen step), and the next ordinary command.

Every row starts from the same place: v1 deployed, then v2 (green serves, blue is its rollback target).
"""

from __future__ import annotations

import signal
from dataclasses import dataclass, field
from typing import Callable

from chaos import dockerd, faults
from chaos.stack import APP_REPO, ChaosStack, Result, finish

NEXT_DEPLOY = "v3"


@dataclass
class Outcome:
    command: Result | None
    notes: list[str] = field(default_factory=list)
    extra: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Row:
    id: str
    title: str
    act: Callable[[ChaosStack], Outcome]
    next: str = "deploy"  # the next ordinary command: deploy (of v3) or rollback
    clear: Callable[[ChaosStack], None] | None = None  # the fault's undo, before the next command
    modes: tuple[str, ...] = ("reload", "shared-dict")
    setup: Callable[[ChaosStack], None] | None = None  # before the stack's first deploy
    teardown: Callable[[ChaosStack], None] | None = None
    config_tmpfs: bool = False  # the upstream file's directory on a tiny tmpfs (row 13 fills it)
    heavy: bool = False  # restarts dockerd: runs only with --dockerd (make chaos, inside the heavy lock)
    stack: Callable[..., ChaosStack] | None = None  # another stack than ChaosStack (chaos/node_loss.py: three nodes)


def deploy_env(**knobs: str) -> Callable[[ChaosStack], Outcome]:
    def act(stack: ChaosStack) -> Outcome:
        return Outcome(stack.deploy(NEXT_DEPLOY, env=knobs))
    return act


def _missing_image(stack: ChaosStack) -> Outcome:
    return Outcome(stack.bg("deploy", "backend", "--image", f"{APP_REPO}:does-not-exist"))


def paused(args: tuple[str, ...], point: str, inject: Callable[[ChaosStack], dict | None],
           env: dict[str, str] | None = None) -> Callable[[ChaosStack], Outcome]:
    """Run `bluegreen <args>` stopped at `point`, inject the fault, let it go on."""
    def act(stack: ChaosStack) -> Outcome:
        proc = stack.spawn(*args, env={"BLUEGREEN_FAILPOINT": f"{point}:pause", **(env or {})})
        if not stack.wait_paused(point, proc):
            return Outcome(finish(proc), [f"failpoint {point} not reached: the fault was not injected"],
                           {"reached": False})
        try:
            extra = inject(stack) or {}
        finally:
            stack.resume(point)
        return Outcome(finish(proc), extra=extra | {"reached": True})
    return act


def killed(args: tuple[str, ...], point: str) -> Callable[[ChaosStack], Outcome]:
    def act(stack: ChaosStack) -> Outcome:
        result = stack.bg(*args, env={"BLUEGREEN_FAILPOINT": point})
        reached = result.code == -signal.SIGKILL
        return Outcome(result, [] if reached else [f"failpoint {point} not reached in this mode"],
                       {"reached": reached})
    return act


DEPLOY = ("deploy", "backend", "--image", f"{APP_REPO}:{NEXT_DEPLOY}")
ROLLBACK = ("rollback", "backend")


# --- 5, 6, 7: nginx refuses, ignores, or the public entry fails --------------------------------------------
def _broken(stack: ChaosStack) -> None:
    faults.add_location(stack, "broken", "this_is_not_a_directive on;\n")


def _unbindable(stack: ChaosStack) -> None:
    faults.hold_port_with_a_server(stack)


def _public_health_fails(stack: ChaosStack) -> None:
    faults.add_location(stack, "verify", "location = /health { return 503; }\n")
    faults.reload_confirmed(stack)


# --- 9: two at once --------------------------------------------------------------------------------------------
def concurrent(first: tuple[str, ...], point: str, second: tuple[str, ...]) -> Callable[[ChaosStack], Outcome]:
    """`first` holds the lock (paused just after taking it); `second` runs meanwhile; then `first` goes on."""
    def act(stack: ChaosStack) -> Outcome:
        proc = stack.spawn(*first, env={"BLUEGREEN_FAILPOINT": f"{point}:pause"})
        if not stack.wait_paused(point, proc):
            return Outcome(finish(proc), ["the first command never took the lock"])
        try:
            other = stack.bg(*second)
        finally:
            stack.resume(point)
        held = finish(proc)
        return Outcome(other, [f"the lock holder ({' '.join(first[:1])}) then exited {held.code}"],
                       {"holder_exit": held.code, "holder_first_line": held.first_line})
    return act


# --- 10: nginx restarted -------------------------------------------------------------------------------------
def _restart(stack: ChaosStack) -> dict:
    return {"nginx_down_s": round(faults.restart_nginx(stack), 3)}


# --- 12: the state directory fills up --------------------------------------------------------------------------
def _state_tmpfs(stack: ChaosStack) -> None:
    faults.mount_tmpfs(stack.state_dir)


def _fill_state(stack: ChaosStack) -> None:
    faults.fill(stack.state_dir)


def _unfill_state(stack: ChaosStack) -> None:
    faults.unfill(stack.state_dir)


def _umount_state(stack: ChaosStack) -> None:
    faults.umount(stack.state_dir)


# --- 14, 15: a person was there first ----------------------------------------------------------------------------
def _remove_previous(stack: ChaosStack) -> Outcome:
    previous = "blue"  # the setup leaves green serving, blue its rollback target
    faults.remove_container(stack, stack.container(previous))
    return Outcome(stack.bg(*ROLLBACK), [f"{stack.container(previous)} removed by hand (docker rm -f)"])


def _hand_switch(stack: ChaosStack) -> Outcome:
    if stack.mode == "shared-dict":
        answer = faults.hand_switch_socket(stack, "blue")
        note = f"PUT blue on the admin socket: {answer}"
    else:
        faults.hand_switch_file(stack)
        note = "upstream file edited (colors swapped) + nginx -s reload"
    return Outcome(stack.deploy(NEXT_DEPLOY), [note])


def _sleep_then_monitor(stack: ChaosStack) -> Outcome:
    # v3 answers health and traffic, then dies 4 s after its start: after the gate and the switch, inside the
    # monitor's window
    return Outcome(stack.deploy(NEXT_DEPLOY, "--monitor", "20s", env={"APP_DIE_AFTER": "4"}))


# --- 11: the Docker engine restarted -----------------------------------------------------------------------------
def _dockerd_setup(live: bool) -> Callable[[ChaosStack], None]:
    def setup(stack: ChaosStack) -> None:
        stack.original_live = dockerd.live_restore()
        stack.restart_policy = True  # nginx and the app as production runs them: unless-stopped
        if live and not stack.original_live:
            dockerd.restart(live=True)  # before the stack exists: this stop takes every container down
            stack.refresh_client()
    return setup


def _dockerd_restart(live: bool) -> Callable[[ChaosStack], dict]:
    """Restart the engine; then how long until nginx *serves* (a 2xx) again, counted from the moment the engine
    answers (what a reboot's operator waits for), which color answered, and which one status reported then."""
    def inject(stack: ChaosStack) -> dict:
        times = dockerd.restart(live=live)
        stack.refresh_client()
        seconds, at, color = faults.serving_within(stack, 30)
        # What status reports at that moment (a deploy in flight switches later: compared with the color then).
        active = stack.status()[1].get("active") if seconds is not None else None
        return {"dockerd_gap_s": round(times["stop_s"] + times["start_s"], 2), **times, "live_restore": live,
                "nginx_serving_after_s": seconds, "serving_at": at, "served_color": color,
                "status_active_when_serving": active}
    return inject


def _reboot(stack: ChaosStack) -> Outcome:
    """A plain reboot: no command runs; the engine stops every container and starts those its policies say."""
    return Outcome(None, ["no command in flight: the engine restarted between deploys"], _dockerd_restart(False)(stack))


def _dockerd_restore(stack: ChaosStack) -> None:
    dockerd.restore(getattr(stack, "original_live", False))
    stack.refresh_client()


# Every point a steady-state deploy and rollback reach, in order (traced once per mode). A shared-dict deploy
# reloads nginx too (taking the idle color out and naming the candidate change the file's shape); its rollback
# moves the color on the socket first (switch.color_set), then writes the file for the next restart.
DEPLOY_KILL_POINTS = ("deploy.locked", "nginx.installed#1", "nginx.reloaded#1", "deploy.room_made",
                      "deploy.set_aside", "deploy.candidate_started", "nginx.installed#2", "nginx.reloaded#2",
                      "deploy.switched")
# A rollback takes the quick path (nginx unchanged since the last switch): the new file pending, then one PUT
# (shared-dict) or the file swapped from the host (rollback.quick_installed) and a SIGHUP (reload) moves traffic
# (rollback.quick_*), then the frame; the full path's own steps are killed in tests/test_shared_dict.py and
# tests/test_engine_recovery.py, after a hand reload makes the quick path step aside.
ROLLBACK_KILL_POINTS = ("rollback.locked", "rollback.quick_pending", "rollback.quick_installed",
                        "rollback.quick_switched", "nginx.installed", "nginx.reloaded", "rollback.switched")


def all_rows() -> list[Row]:
    rows = [
        Row("1a", "candidate image cannot be pulled (no such tag)", _missing_image),
        Row("1b", "candidate cannot start (exits at once)", deploy_env(APP_DIE_AFTER="0")),
        Row("2", "candidate never healthy (/health 503)", deploy_env(APP_HEALTH="fail")),
        Row("3", "candidate flaps during the gate", deploy_env(APP_HEALTH="flap")),
        Row("4", "candidate dies 4 s after start, after the switch (deploy --monitor 20s)", _sleep_then_monitor),
        Row("5", "`nginx -t` fails (a broken file appears before the switch)",
            paused(DEPLOY, "deploy.candidate_started", _broken),
            clear=lambda s: faults.remove_location(s, "broken", reload=False)),
        Row("6", "reload not applied (the master cannot bind a new listen)",
            paused(DEPLOY, "deploy.candidate_started", _unbindable),
            clear=faults.free_held_port),
        Row("7", "verify through the public entry fails (/health 503 at nginx)",
            paused(DEPLOY, "deploy.switched", _public_health_fails),
            clear=lambda s: faults.remove_location(s, "verify", reload=True)),
    ]
    rows += [Row(f"8d {p}", f"SIGKILL during deploy at {p}", killed(DEPLOY, p)) for p in DEPLOY_KILL_POINTS]
    rows += [Row(f"8r {p}", f"SIGKILL during rollback at {p}", killed(ROLLBACK, p), next="rollback",
                 modes=("reload",) if p == "rollback.quick_installed" else ("reload", "shared-dict"))
             for p in ROLLBACK_KILL_POINTS]
    rows += [
        Row("9a", "two deploys at once (the second while the first holds the lock)",
            concurrent(DEPLOY, "deploy.locked", DEPLOY)),
        Row("9b", "a deploy during a rollback", concurrent(ROLLBACK, "rollback.locked", DEPLOY)),
        Row("14", "previous color removed by hand before a rollback", _remove_previous),
        Row("15", "operator's hand switch before a deploy", _hand_switch, next="rollback"),
        Row("10", "nginx container restarted mid-deploy (after the candidate started)",
            paused(DEPLOY, "deploy.candidate_started", _restart)),
        Row("12a", "state dir full (tmpfs) before the switch is recorded",
            paused(DEPLOY, "deploy.candidate_started", _fill_state), clear=_unfill_state,
            setup=_state_tmpfs, teardown=_umount_state),
        Row("12b", "state dir full (tmpfs) after the switch, before promote/history",
            paused(DEPLOY, "deploy.switched", _fill_state), clear=_unfill_state,
            setup=_state_tmpfs, teardown=_umount_state),
        Row("13", "nginx config dir full (tmpfs) while rendering the switch",
            paused(DEPLOY, "deploy.candidate_started", faults.fill_config_dir), clear=faults.free_config_dir,
            config_tmpfs=True, setup=lambda s: faults.mount_tmpfs(s.config_host_dir, "64k"),
            teardown=lambda s: faults.umount(s.config_host_dir)),
        Row("11a", "dockerd restarted mid-deploy, no live-restore (SIGTERM, then ensure-docker.sh)",
            paused(DEPLOY, "deploy.candidate_started", _dockerd_restart(False)),
            setup=_dockerd_setup(False), teardown=_dockerd_restore, heavy=True),
        Row("11c", "dockerd restarted between deploys, no live-restore (a plain reboot)", _reboot,
            setup=_dockerd_setup(False), teardown=_dockerd_restore, heavy=True),
        Row("11b", "dockerd restarted mid-deploy, live-restore on",
            paused(DEPLOY, "deploy.candidate_started", _dockerd_restart(True)),
            setup=_dockerd_setup(True), teardown=_dockerd_restore, modes=("reload",), heavy=True),
    ]
    return rows


def skipped(row: Row, mode: str, why: str) -> dict:
    return {"row": row.id, "title": row.title, "mode": mode, "next_command": row.next, "harness_error": why,
            "not_run": True}


def selected(rows: list[Row], wanted: str | None) -> list[Row]:
    if not wanted:
        return rows
    keys = [w.strip() for w in wanted.split(",") if w.strip()]
    return [r for r in rows if any(r.id == k or r.id.split(" ")[0] == k for k in keys)]

