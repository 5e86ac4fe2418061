"""The outcome of one deploy or rollback: printed with --json, written to --report, appended to history.

Only names, colors, images and timings go in: never environment values.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Iterator

from bluegreen.errors import BlueGreenError
from bluegreen.messages import render


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

    @classmethod
    def begin(cls, ctx: Any, action: str, *, image: str | None, started: str) -> "Report":
        return cls(service=ctx.service.name, action=action, image=image, started_at=started,
                   build=ctx.environ.get("BUILD_NUMBER", ""), build_url=ctx.environ.get("BUILD_URL", ""),
                   lang=ctx.out.lang)

    def fail(self, ctx: Any, error: BlueGreenError) -> None:
        self.result = _RESULTS.get(type(error).__name__, "failed")
        self.reason = ctx.out.text(error.key, **error.params)
        self.exit_code = error.exit_code
        error.report = self  # type: ignore[attr-defined]  # the CLI writes it even on failure

    def crash(self, error: BaseException) -> None:
        """An unexpected error (a bug, Ctrl-C): recorded as such, never as a success."""
        self.result, self.exit_code = "error", 1
        self.reason = f"{type(error).__name__}: {' '.join(str(error).split())[:200]}"

    @contextmanager
    def recording(self, ctx: Any, *, since: float) -> Iterator["Report"]:
        """Record this report in history however the block ends: a failure with its reason (unless the block
        already settled the result), anything unexpected as an error, the duration counted from `since`."""
        try:
            yield self
        except BlueGreenError as error:
            if self.result == "success":
                self.fail(ctx, error)
            raise
        except BaseException as error:
            self.crash(error)
            raise
        finally:
            self.finish(ctx, time.monotonic() - since)

    def finish(self, ctx: Any, seconds: float) -> None:
        self.duration = round(seconds, 3)
        self.phases = dict(ctx.phases)
        ctx.state.record(self.history_entry())

    @property
    def description(self) -> str:
        image = (self.image or "").rsplit("/", 1)[-1]
        arrow = f"{self.source or '-'} → {self.target or '-'}"
        return f"{arrow} · {image}" if image else arrow

    def history_entry(self) -> dict[str, Any]:
        return {"time": self.started_at, "action": self.action, "from": self.source, "to": self.target,
                "image": self.image, "build": self.build, "build_url": self.build_url, "result": self.result,
                "reason": self.reason, "duration": self.duration, "phases": self.phases,
                **({"details": self.details} if self.details else {})}

    def as_dict(self) -> dict[str, Any]:
        return {"service": self.service, "action": self.action, "result": self.result, "from": self.source,
                "to": self.target, "image": self.image, "build": self.build, "build_url": self.build_url,
                "reason": self.reason, "exit_code": self.exit_code, "description": self.description,
                "phases": self.phases, "started_at": self.started_at, "duration": self.duration,
                **({"details": self.details} if self.details else {})}


def failure_report(service: str, action: str, error: BaseException, code: int, lang: str) -> dict[str, Any]:
    """For errors before an operation began (bad input, missing variables): nothing changed, nothing recorded."""
    reason = render(error.key, lang, **error.params) if isinstance(error, BlueGreenError) else str(error)
    return {"service": service, "action": action, "result": "rejected", "from": None, "to": None, "image": None,
            "reason": reason, "exit_code": code, "description": "", "phases": {}, "duration": 0.0}


_RESULTS = {"RollbackUnavailable": "unavailable", "MonitorRolledBack": "monitor_rolled_back"}
