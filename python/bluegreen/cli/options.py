"""What the command line hands on, checked before anything happens: options (an image reference, a duration, an
operator's reason), the report file (opened up front, written at the end)."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from bluegreen.commands import Options
from bluegreen.config.values import human, is_reference
from bluegreen.errors import UsageError
from bluegreen.files import write_all
from bluegreen.output import escape
from bluegreen.units import MAX_SECONDS, parse_duration

REASON_LIMIT = 500  # characters of --reason kept (history, reports, the Jenkins build description)


def emit(doc: dict[str, Any], opts: Options, report: tuple[int, str] | None) -> None:
    """The operation's JSON report to --report and (with --json) stdout, masked like every other line."""
    doc = opts.out.masked(doc)
    if report is not None:
        fd, path = report
        try:
            write_all(fd, (json.dumps(doc, ensure_ascii=False, indent=2) + "\n").encode("utf-8"), 0)
        except OSError as exc:  # a full disk, after the operation: said, and the operation's exit code stands
            print(opts.out.message("report.write_failed", path=path, error=exc.strerror or "?"), file=sys.stderr)
        finally:
            os.close(fd)
    if opts.json_mode:
        print(json.dumps(doc, ensure_ascii=False, indent=2))


def image_option(value: str | None) -> str | None:
    """--image: a reference (Docker's grammar) or nothing; checked before anything else happens."""
    if value is not None and not is_reference(value):
        raise UsageError("option.bad_value", option="--image", value=repr(value)[:120])
    return value


def duration_option(value: str | None, option: str, *, zero: bool = True) -> float | None:
    """--monitor / --duration, the one check of a duration given on the command line: seconds up to a day
    (surrounding spaces allowed; 0 switches deploy monitoring off), None when not given (empty, as Jenkins passes
    it)."""
    if value is None or not value.strip():
        return None
    seconds = parse_duration(value.strip())
    if seconds is None:
        raise UsageError("option.bad_duration", option=option, value=repr(value)[:60], high=human(MAX_SECONDS))
    if seconds == 0 and not zero:  # `monitor --duration 0` would watch nothing
        raise UsageError("monitor.bad_duration", option=option, value=value.strip()[:40])
    return seconds


def reason_option(value: str | None) -> str | None:
    """--reason is kept in history and reports and printed: shown escaped (no ANSI, no forged lines), bounded."""
    return None if value is None else escape(value, limit=REASON_LIMIT)


def init_options(**given: str | None) -> dict[str, str | None]:
    """`init`'s options name what its bluegreen.yml will say: each checked as the config checks that key."""
    from bluegreen.config.schema import ADMIN_DIR
    from bluegreen.config.values import CONTAINER, UPSTREAM

    patterns = {"nginx": CONTAINER, "network": CONTAINER, "upstream": UPSTREAM, "admin_dir": ADMIN_DIR}
    for name, value in given.items():
        if value is None:
            continue
        option = "--" + name.replace("_", "-")
        pattern = patterns.get(name)
        bad = (pattern is not None and not pattern.fullmatch(value)) or (name == "admin_dir" and ".." in value) or (
            name == "state_dir" and (not value.startswith("/") or not value.isprintable() or len(value) > 4096))
        if bad:
            raise UsageError("option.bad_value", option=option, value=repr(value)[:120])
    return given

