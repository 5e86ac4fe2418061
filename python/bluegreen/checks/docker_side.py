"""Checks of what Docker does with this site: restart policies, live-restore, and what a host reboot leaves.

A restart policy decides what comes back when the engine starts again (a reboot, an upgrade of the docker package,
or any engine restart without live-restore): `unless-stopped` and `always` come back; `on-failure` only after a
non-zero exit, which a clean shutdown is not; `no` stays stopped. Docker 20.10 does not honour a policy added with
`docker update` to a running container until that container has been started again (measured: design notes,
2026-12-07), so each fix says so.
"""

from __future__ import annotations

from bluegreen.parts.facts import FAIL, OK, WARN, Facts, Finding
from bluegreen.parts.nginx_config import RESOLVE_SINCE

BACK = ("always", "unless-stopped")  # policies that bring a container back when the engine starts


def restart_nginx(f: Facts) -> Finding | None:
    c = f.nginx_container
    if c is None:
        return None
    params = {"nginx": c.name, "policy": c.restart}
    fix = {"names": c.name, "engine": f.engine.version}
    if c.restart in BACK:
        return Finding("restart_nginx", OK, "doctor.restart_nginx.ok", params)
    if c.restart == "on-failure":
        return Finding("restart_nginx", WARN, "doctor.restart_nginx.on_failure", params, "doctor.fix.restart", fix)
    return Finding("restart_nginx", FAIL, "doctor.restart_nginx.none", params, "doctor.fix.restart", fix)


def restart_colors(f: Facts) -> Finding:
    svc = f.service
    if svc.scale.runtime == "swarm":
        return Finding("restart_colors", OK, "doctor.restart_colors.swarm")
    found = [c for color in ("blue", "green") for c in f.colors.get(color, ())]
    if svc.restart in (None, "no"):
        return Finding("restart_colors", FAIL, "doctor.restart_colors.config", {"service": svc.name},
                       "doctor.fix.restart_config", {"service": svc.name})
    fix = {"engine": f.engine.version}
    stays = [c.name for c in found if c.restart not in BACK and c.restart != "on-failure"]
    if stays:
        return Finding("restart_colors", FAIL, "doctor.restart_colors.none", {"names": ", ".join(stays)},
                       "doctor.fix.restart", {"names": " ".join(stays), **fix})
    maybe = [c.name for c in found if c.restart == "on-failure"]
    if maybe:
        return Finding("restart_colors", WARN, "doctor.restart_colors.on_failure", {"names": ", ".join(maybe)},
                       "doctor.fix.restart", {"names": " ".join(maybe), **fix})
    if svc.restart == "on-failure":
        return Finding("restart_colors", WARN, "doctor.restart_colors.on_failure",
                       {"names": f"services.{svc.name}.restart"}, "doctor.fix.restart_config", {"service": svc.name})
    if not found:
        return Finding("restart_colors", OK, "doctor.restart_colors.none_yet", {"policy": svc.restart or "no"})
    return Finding("restart_colors", OK, "doctor.restart_colors.ok",
                   {"names": ", ".join(f"{c.name} ({c.restart})" for c in found)})


def live_restore(f: Facts) -> Finding:
    if f.engine.live_restore:
        return Finding("live_restore", OK, "doctor.live_restore.ok")
    return Finding("live_restore", WARN, "doctor.live_restore.off", {"engine": f.engine.version},
                   "doctor.fix.live_restore")


def reboot(f: Facts) -> Finding | None:
    """After a reboot the engine starts the containers whose policy says so, nginx among them; an nginx older than
    1.27.3 (or a name without `resolve`) starts only if every container it names resolves at that instant, else it
    exits ("host not found in upstream") and Docker tries it again with a growing back-off."""
    if f.nginx.dump is None or f.nginx_container is None or not f.complete:
        return None
    nginx = f.nginx_container
    fix = {"names": nginx.name, "engine": f.engine.version}
    if nginx.restart not in BACK and nginx.restart != "on-failure":
        return Finding("reboot", FAIL, "doctor.reboot.nginx_stays", {"nginx": nginx.name}, "doctor.fix.restart", fix)
    first: dict[str, str] = {}  # each container nginx resolves at load → where it first names it
    for m in f.nginx.dump.resolved_at_load():
        if m.host in f.named:
            first.setdefault(m.host, m.where)
    version = f.nginx.version or "?"
    stays = [n for n in first if f.named[n].restart not in BACK and f.named[n].restart != "on-failure"]
    if stays:
        newer = f.nginx.numbers >= RESOLVE_SINCE
        return Finding("reboot", FAIL, "doctor.reboot.name_stays",
                       {"names": ", ".join(stays), "where": first[stays[0]], "version": version},
                       "doctor.fix.reboot_resolve" if newer else "doctor.fix.restart",
                       {"names": " ".join(stays), "engine": f.engine.version})
    maybe = [n for n in first if f.named[n].restart == "on-failure"] + \
        ([nginx.name] if nginx.restart == "on-failure" else [])
    if maybe:
        return Finding("reboot", WARN, "doctor.reboot.maybe", {"names": ", ".join(maybe)}, "doctor.fix.restart",
                       {"names": " ".join(maybe), "engine": f.engine.version})
    if first:
        return Finding("reboot", OK, "doctor.reboot.after_names", {"names": ", ".join(first), "version": version,
                                                                  "nginx": nginx.name})
    return Finding("reboot", OK, "doctor.reboot.ok", {"nginx": nginx.name})
