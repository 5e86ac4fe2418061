"""`bluegreen doctor`'s checks, and the subset a deploy runs first. Each check is a pure function of `Facts`
(facts.py) giving one `Finding`: a stable id (the JSON key), a level, one line and, unless ok, one concrete fix.

    id              what it judges                                                      module
    nginx_test      nginx -t passes on the files as they are                            nginx_side
    upstream_block  the service's upstream is in bluegreen's own file, which nginx reads nginx_side
    njs             switch: shared-dict: the njs module is loaded or compiled in        nginx_side
    access_log      nginx writes the access log the monitor reads, in its format        nginx_side
    websocket       locations proxying to the service have all or none of the
                    WebSocket headers                                                   nginx_side
    retries         nginx re-sends no request cut before its answer to the next server
                    (the other color: another release)                                  nginx_side
    restart_nginx   nginx's restart policy                                              docker_side
    restart_colors  each color's containers' restart policy (and bluegreen.yml's)       docker_side
    live_restore    the engine keeps containers running while it restarts               docker_side
    reboot          what this site does after a host reboot                             docker_side
    admin_dir       switch: shared-dict: the admin socket's directory admits only us    host_side
    state_dir       absolute, private, with room                                        host_side
    quick_rollback  the rollback's quick path can see nginx from here                   host_side
    python          the python bluegreen runs on

Levels: `fail` (exit 1 of doctor: something breaks or is open to others), `warn` (a risk, with its fix; doctor
still exits 0), `ok`. A finding with `refuses` stops a deploy before anything changes (exit 3): see DEPLOY.
"""

from __future__ import annotations

from typing import Callable

from bluegreen.checks import docker_side, host_side, nginx_side
from bluegreen.parts.facts import FAIL, OK, WARN, Facts, Finding

__all__ = ["Finding", "OK", "WARN", "FAIL", "ALL", "DEPLOY", "DEPLOY_WARNINGS", "run"]


def python(f: Facts) -> Finding:
    version = ".".join(map(str, f.python))
    if f.python[:2] >= (3, 10):
        return Finding("python", OK, "doctor.python.ok", {"version": version})
    return Finding("python", FAIL, "doctor.python.old", {"version": version}, "doctor.fix.python")


CHECKS: tuple[tuple[str, Callable[[Facts], Finding | None]], ...] = (
    ("nginx_test", nginx_side.nginx_test), ("upstream_block", nginx_side.upstream_block),
    ("njs", nginx_side.njs), ("access_log", nginx_side.access_log), ("websocket", nginx_side.websocket),
    ("retries", nginx_side.retries),
    ("restart_nginx", docker_side.restart_nginx), ("restart_colors", docker_side.restart_colors),
    ("live_restore", docker_side.live_restore), ("reboot", docker_side.reboot),
    ("admin_dir", host_side.admin_dir), ("state_dir", host_side.state_dir),
    ("quick_rollback", host_side.quick_rollback), ("python", python))
ALL = tuple(name for name, _ in CHECKS)

# A deploy's first checks, before the lock's work changes anything (nothing started, no reload). Refused (exit 3)
# when each would break the run *after* it changed things, or leave production open to others:
# - nginx_test: the switch's own `nginx -t` would fail after the candidate started (someone else's file is broken;
#   bluegreen's own file is left to the run's repair, which puts it right);
# - njs / admin_dir (shared-dict): the first switch would fail at `nginx -t` or on the socket, and a directory
#   other users can enter lets any local user move production traffic;
# - state_dir: less room than the run's own writes need (a run stopped mid-way, as a killed one).
# The block outside bluegreen's file is the deploy's detection's to refuse (one message, not two). Warnings are
# said in one line each and the deploy goes on: a reboot is not the deploy's to fix.
DEPLOY = ("nginx_test", "njs", "admin_dir", "state_dir")
DEPLOY_WARNINGS = ("restart_nginx", "restart_colors", "live_restore")


def run(facts: Facts, ids: tuple[str, ...] = ALL) -> tuple[list[Finding], list[str]]:
    """The findings of the checks `ids`, in that order, and the ids not checked (their facts are missing: nginx -T
    failed, so nothing that reads the configuration can be judged)."""
    found, skipped = [], []
    for name, check in CHECKS:
        if name not in ids:
            continue
        finding = check(facts)
        if finding is None:
            skipped.append(name)
        else:
            found.append(finding)
    return found, skipped
