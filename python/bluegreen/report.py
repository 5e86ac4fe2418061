"""The outcome of one operation: printed with --json, written to --report, appended to history (by the frame).

Only names, colors, images and timings go in: never environment values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from bluegreen.errors import BlueGreenError, exit_code_for

if TYPE_CHECKING:
    from bluegreen.output import Reporter


@dataclass
class Report:
    service: str
    action: str
    image: str | None = None
    source: str | None = None  # "from" color
    target: str | None = None  # "to" color
    result: str = "success"
    reason: str = ""
    exit_code: int = 0
    started_at: str = ""
    duration: float = 0.0
    phases: dict[str, float] = field(default_factory=dict)
    build: str = ""
    build_url: str = ""
    lang: str = "en"
    details: dict[str, Any] = field(default_factory=dict)  # e.g. what the monitor saw; only when not empty
    extra: dict[str, Any] = field(default_factory=dict)  # action-specific fields of the JSON report

    def fail(self, error: BlueGreenError, reason: str) -> None:
        """Settle the result from the error (`reason`: its message in the operator's language, masked)."""
        self.result = _RESULTS.get(type(error).__name__, "failed")
        self.reason = reason
        self.exit_code = exit_code_for(error)
        error.report = self  # type: ignore[attr-defined]  # the CLI writes it even on failure

    def crash(self, error: BaseException, mask: Callable[[str], str]) -> None:
        """An unexpected error (a bug, Ctrl-C): recorded as such, never as a success; its text masked, then cut (a
        secret cut first could leave its head unmasked)."""
        self.result, self.exit_code = "error", exit_code_for(error)
        self.reason = f"{type(error).__name__}: {' '.join(mask(str(error)).split())[:200]}"

    @property
    def description(self) -> str:
        image = (self.image or "").rsplit("/", 1)[-1]
        arrow = f"{self.source or '-'} → {self.target or '-'}"
        return f"{arrow} · {image}" if image else arrow

    def history_entry(self) -> dict[str, Any]:
        return {"time": self.started_at, "action": self.action, "from": self.source, "to": self.target,
                "image": self.image, "build": self.build, "build_url": self.build_url, "result": self.result,
                "reason": self.reason, "duration": self.duration, "phases": self.phases,
                **({"details": self.details} if self.details else {}), **self.extra}

    def as_dict(self) -> dict[str, Any]:
        return {"service": self.service, "action": self.action, "result": self.result, "from": self.source,
                "to": self.target, "image": self.image, "build": self.build, "build_url": self.build_url,
                "reason": self.reason, "exit_code": self.exit_code, "description": self.description,
                "phases": self.phases, "started_at": self.started_at, "duration": self.duration,
                **({"details": self.details} if self.details else {}), **self.extra}


def failure_report(service: str, action: str, error: BaseException, out: Reporter) -> dict[str, Any]:
    """For errors before an operation began (bad input, missing variables, lock held): nothing changed, nothing
    recorded. The reason is said by `out`, masked (a value quoted as given may hold a secret)."""
    reason = out.message(error.key, **error.params) if isinstance(error, BlueGreenError) else out.mask(str(error))
    return {"service": service, "action": action, "result": "rejected", "from": None, "to": None, "image": None,
            "reason": reason, "exit_code": exit_code_for(error), "description": "", "phases": {}, "duration": 0.0}


# Refusals after the lock (a staged deploy pending, an edit nginx has not loaded) change nothing but are recorded.
_RESULTS = {"RollbackUnavailable": "unavailable", "MonitorRolledBack": "monitor_rolled_back", "Inconsistent": "refused",
            "ServiceBusy": "refused"}
