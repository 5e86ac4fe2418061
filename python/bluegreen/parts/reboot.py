"""Will this site come back by itself after a reboot? A judgement over facts already read (no engine request here),
for `doctor` and `status` to call.

What a reboot does (an engine start without live-restore: measured on Docker 20.10, bench/chaos rows 11a and 11c
on an engine of their own): every container stopped, then the engine starts again, before it answers, each
container whose restart policy says so — all at once, in no order. nginx then loads its files and resolves every
upstream name as it starts: a name with no running container behind it ("host not found in upstream") stops it,
and Docker retries it with its back-off while the name stays missing. So the site comes back when
- nginx's policy brings it back: `always`; `unless-stopped` too unless nginx was stopped, or sent a signal,
  through Docker since it last started (`docker kill -s HUP`: Docker then counts it as stopped by hand,
  moby/moby#41302 — bluegreen's own reloads never go through Docker's kill API); `on-failure` and `no` do not
  (nginx exits 0 at a clean shutdown);
- every container nginx's files name comes back too (a policy, and running now), or nginx resolves the names
  itself while it runs (`resolve`, nginx >= 1.27.3), where a missing one only leaves that color unserved.
Measured with that: nginx served 0.15-0.31 s after the engine answered (bench/results/faults-2026-12-07-reboot.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from bluegreen.parts.containers import ContainerFacts

BRINGS_BACK = ("always", "unless-stopped")  # a policy under which the engine starts the container again

Finding = tuple[str, dict[str, str]]  # (message key, parameters)


@dataclass(frozen=True)
class RebootOutlook:
    comes_back: bool  # nginx serves again with no command, as far as these facts tell
    findings: tuple[Finding, ...]  # what stands in the way (❌), then what to watch (⚠️); empty: nothing to say


def reboot_outlook(*, nginx: ContainerFacts | None, named: Mapping[str, ContainerFacts | None],
                   resolves: bool = False) -> RebootOutlook:
    """`nginx`: its container's facts (None: there is none by its configured name). `named`: every container name
    nginx's loaded files name for this service (`server <name>:<port>`), with its facts (None: no such container).
    `resolves`: those names carry `resolve` (nginx looks them up while it runs, not only when it starts)."""
    blockers: list[Finding] = []
    cautions: list[Finding] = []
    if nginx is None:
        blockers.append(("reboot.nginx_missing", {}))
    elif nginx.restart not in BRINGS_BACK:
        blockers.append(("reboot.nginx_no_policy", {"nginx": nginx.name, "policy": nginx.restart}))
    elif nginx.restart == "unless-stopped":
        cautions.append(("reboot.nginx_unless_stopped", {"nginx": nginx.name}))
    for name, facts in sorted(named.items()):
        if facts is not None and facts.running and facts.restart in BRINGS_BACK:
            continue
        if resolves:
            cautions.append(("reboot.named_unserved", {"name": name}))
        elif facts is None:
            blockers.append(("reboot.named_missing", {"name": name}))
        elif not facts.running:
            blockers.append(("reboot.named_stopped", {"name": name}))
        else:
            blockers.append(("reboot.named_no_policy", {"name": name, "policy": facts.restart}))
    return RebootOutlook(not blockers, tuple(blockers + cautions))
