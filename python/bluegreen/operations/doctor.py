"""`bluegreen doctor`, and the checks a deploy runs first.

    doctor:   facts, gathered once → every check (checks/) → one line per finding, a fix under each that is not
              ok → exit 0 when none failed (warnings are said), 1 when one did. Read-only: no lock, nothing changed,
              nothing recorded.
    preflight (deploy.begin, before the lock): the decisive checks (checks.DEPLOY) → the first that fails refuses
              the deploy (exit 3, nothing changed); the warnings (checks.DEPLOY_WARNINGS) are one line each.
"""

from __future__ import annotations

from typing import Any

from bluegreen import checks
from bluegreen.checks import FAIL, OK, WARN, Finding
from bluegreen.parts.facts import Facts
from bluegreen.errors import Inconsistent, ToFix
from bluegreen.output import Reporter

MARKS = {OK: "✅", WARN: "⚠️ ", FAIL: "❌"}


def examine(out: Reporter, facts: Facts) -> dict[str, Any]:
    """Every check, as the JSON document `doctor --json` prints (messages in the operator's language)."""
    found, skipped = checks.run(facts)
    return {
        "service": facts.service.name,
        "nginx": {"container": facts.nginx.container, "version": facts.nginx.version or None},
        "engine": {"version": facts.engine.version},
        "python": ".".join(map(str, facts.python)),
        "checks": {f.id: {"level": f.level, "message": out.message(f.key, **f.params),
                          "fix": out.message(f.fix, **f.fix_params) if f.fix else None,
                          "refuses_deploy": f.refuses and f.level == FAIL} for f in found},
        "skipped": skipped,
        "failed": [f.id for f in found if f.level == FAIL],
        "warnings": [f.id for f in found if f.level == WARN],
    }


def run_doctor(out: Reporter, facts: Facts) -> dict[str, Any]:
    doc = examine(out, facts)
    if out.json_mode:
        out.document(doc)
    else:
        show(out, doc)
    if doc["failed"]:
        raise ToFix("doctor.to_fix", count=str(len(doc["failed"])), ids=", ".join(doc["failed"]),
                    warnings=str(len(doc["warnings"])))
    return doc


def show(out: Reporter, doc: dict[str, Any]) -> None:
    out.say("doctor.begin", service=doc["service"], nginx=doc["nginx"]["container"],
            version=doc["nginx"]["version"] or "?", engine=doc["engine"]["version"], python=doc["python"])
    for id_, check in doc["checks"].items():
        out.say("doctor.line", mark=MARKS[check["level"]], id=id_, message=check["message"])
        if check["fix"]:
            out.say("doctor.fix_line", fix=check["fix"])
    if doc["skipped"]:
        out.say("doctor.skipped", ids=", ".join(doc["skipped"]))
    if not doc["failed"]:
        out.rule()
        out.say("doctor.all_good", warnings=str(len(doc["warnings"])))


def preflight(out: Reporter, facts: Facts) -> list[str]:
    """The deploy's first checks: a refusal (Inconsistent, exit 3) before anything changed, or the ids it warned
    about, each said in one line."""
    found, _ = checks.run(facts, checks.DEPLOY + checks.DEPLOY_WARNINGS)
    for f in found:
        if f.refuses and f.level == FAIL:
            raise Inconsistent("preflight.refused", id=f.id, message=_text(out, f), fix=out.text(f.fix, **f.fix_params))
    warned = [f for f in found if f.id in checks.DEPLOY_WARNINGS and f.level != OK]
    for f in warned:
        out.say("preflight.warning", id=f.id, message=_text(out, f), fix=out.text(f.fix, **f.fix_params))
    return [f.id for f in warned]


def _text(out: Reporter, f: Finding) -> str:
    return out.text(f.key, **f.params)
