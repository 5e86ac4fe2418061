"""What is wrong with a look at the live system (look.py), each thing as a Problem: a message and its
parameters, and how the next operation takes it — repaired by itself, refused, or only reported.

`Live` is look.py's (not imported here: look.py imports this module).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bluegreen.parts.state import now_iso


@dataclass(frozen=True)
class Problem:
    key: str  # message id (status.problem.*)
    params: dict[str, str] = field(default_factory=dict)
    repairable: bool = False  # the next deploy/rollback fixes it by itself
    refuses: bool = False  # what nginx serves cannot be told (or is not bluegreen's to change): operations refuse


def find_problems(live: "Live") -> list[Problem]:
    """Each thing wrong with the look, with how the next operation takes it (repairs it, or refuses)."""
    s, view, served = live.service, live.view, live.served
    found: list[Problem] = _detected(live)
    if served.disk is None and served.loaded is None and not live.outside:
        return found + [Problem("status.problem.no_file", {"path": s.upstream_file})]
    if live.loaded_outside:
        key = "status.problem.switched_outside" if live.switched_outside else "status.problem.edited_outside"
        found.append(Problem(key, {"color": live.active or "-", "path": s.upstream_file, "since": _when(served.since)},
                             repairable=True))
    if live.edited_not_loaded:
        found.append(Problem("status.problem.edited_not_loaded", {"path": s.upstream_file,
                                                                  "nginx": served.container}))
    where = live.where or s.upstream_file
    if view.blocks == 0:
        found.append(Problem("status.problem.no_block", {"upstream": s.upstream, "path": s.upstream_file}))
    elif view.blocks > 1:
        found.append(Problem("status.problem.many_blocks", {"upstream": s.upstream, "count": str(view.blocks),
                                                            "where": s.upstream_file}, refuses=True))
    hosts = list(view.primaries) + list(view.backups)
    # A block naming only other servers (a placeholder, the one container served before bluegreen) is the first
    # deploy's to replace; one that names a color as well cannot be told apart.
    colored = any(s.color_of(h) for h in hosts)
    for host in sorted({h for h in hosts if hosts.count(h) > 1}):
        found.append(Problem("status.problem.named_twice", {"name": host}))
    if len({s.color_of(h) or h for h in view.primaries}) > 1:  # replicas of one color are one primary
        found.append(Problem("status.problem.two_primaries", {"names": ", ".join(view.primaries), "where": where},
                             refuses=colored))
    if len({s.color_of(h) or h for h in view.backups}) > 1:
        found.append(Problem("status.problem.two_backups", {"names": ", ".join(view.backups)}))
    if view.blocks and not view.primaries:
        found.append(Problem("status.problem.no_primary", {"upstream": s.upstream, "where": where}, refuses=colored))
    for host in dict.fromkeys(hosts):
        if s.color_of(host) is None:
            found.append(Problem("status.problem.foreign", {"name": host, "where": where}, refuses=colored))
    for color in (live.active, live.backup):
        if not color:
            continue
        if s.scale.replicas > 1 and any(i.running for i in live.instances.get(color, ())):
            found.extend(_instances_down(live, color))  # each replica (or task) that should run and does not
        elif not live.running(color):
            found.append(Problem("status.problem.not_running", {"name": s.container(color)}))
    if live.stale:
        found.append(Problem("status.problem.stale_servers", {"addresses": ", ".join(live.stale),
                                                              "path": s.upstream_file}, repairable=True))
    if live.leftover_file:
        found.append(Problem("status.problem.disk_not_loaded", {"path": s.upstream_file}, repairable=True))
    if live.unfinished_switch:
        found.append(Problem("status.problem.unfinished_switch", {"path": s.upstream_file}, repairable=True))
    for color in live.orphans():
        found.append(Problem("status.problem.orphan", {"name": s.container(color)}, repairable=True))
    staged = (live.state.staged or {}).get("color")
    for color, info in live.kept.items():
        if color != staged:
            found.append(Problem("status.problem.kept", {"name": info.name, "color": color}, repairable=True))
    if live.stale_lock:
        found.append(Problem("status.problem.stale_lock", {k: str(v) for k, v in live.stale_lock.items()},
                             repairable=True))
    return found


def _detected(live: "Live") -> list[Problem]:
    """What the scan of every file nginx reads found (none when the look did not need one)."""
    found, s, nginx = live.found, live.service, live.served.container
    if found is None:
        return []
    if found.error is not None:
        return [Problem("status.problem.unreadable", {"nginx": nginx, "error": found.error}, refuses=True)]
    problems = [Problem("status.problem.edited_elsewhere", {"path": p, "nginx": nginx}, refuses=True)
                for p in found.edited]
    if found.outside and (live.served.view.blocks or len(found.outside) > 1):
        problems.append(Problem("status.problem.many_blocks", {
            "upstream": s.upstream, "count": str(len(found.outside) + live.served.view.blocks),
            "where": ", ".join([b.where for b in found.outside] + [s.upstream_file] * bool(live.served.view.blocks))},
            refuses=True))
    elif found.outside:
        problems.append(Problem("status.problem.block_outside", {
            "upstream": s.upstream, "where": found.outside[0].where, "path": s.upstream_file,
            "color": live.active or "-"}, refuses=True))
    managed = bool(found.outside or live.served.view.blocks)
    for m in found.elsewhere:  # named outside the service's block: never stopped while named (guard.py)
        key = "status.problem.named_elsewhere" if managed else "status.problem.unmanaged"
        problems.append(Problem(key, {"name": m.host, "where": m.where, "directive": m.directive,
                                      "upstream": s.upstream}, refuses=not managed))
    return problems


def _instances_down(live: "Live", color: str) -> list[Problem]:
    """A serving color with fewer instances running than `replicas`: each missing or stopped one, by name."""
    found = {i.name: i for i in live.instances.get(color, ())}
    running = sum(i.running for i in found.values())
    wanted = live.service.scale.replicas
    if running >= wanted:
        return []
    names = [n for n in found if not found[n].running]
    names += [n for n in live.service.expected(color) if n not in found][: max(0, wanted - len(found))]
    return [Problem("status.problem.instance_down", {
        "name": n, "color": color, "state": found[n].state if n in found else "absent", "running": str(running),
        "replicas": str(wanted)}) for n in names]


def _when(epoch: float | None) -> str:
    return now_iso(epoch) if epoch is not None else "?"
