"""The console entry (`bluegreen`, `python -m bluegreen`, the bundle): the rollback's quick path, then click.

`bluegreen rollback SERVICE` in `switch: shared-dict` moves traffic before click and the engine are imported
(quick/rollback.py, ~0.4 s less on 2 cores); then cli.py runs the command as always, and the
rollback finishes what the quick path started. This module only recognizes a rollback's command line, in the forms
click accepts (options as `--name value` or `--name=value`, in any order, values from the environment like click's
envvars); anything else — another command, an option it does not list, a value click could refuse — goes to click
untouched, which then does all of it. tests/unit/test_entry.py checks with generated command lines that whatever
is recognized here, click reads the same way.
"""

from __future__ import annotations

import os
import sys
from typing import Mapping, Sequence

_GROUP = {"--config": "config", "--lang": "lang"}
_ROLLBACK = {"--reason": "reason", "--report": "report"}
_FLAGS = {"--json"}


def rollback_args(argv: Sequence[str], environ: Mapping[str, str]) -> dict[str, str | None] | None:
    """{"config", "service", "report"} of a rollback's command line, None when it is not one this module is sure
    of (see the module docstring)."""
    values: dict[str, str] = {}
    args, i = list(argv), 0
    while i < len(args) and args[i] != "rollback":
        i = _option(args, i, _GROUP, values)
        if i < 0:
            return None
    if i >= len(args):
        return None
    i, service = i + 1, None
    while i < len(args):
        if args[i] in _FLAGS:
            i += 1
        elif args[i].startswith("-"):
            i = _option(args, i, _ROLLBACK, values)
            if i < 0:
                return None
        elif service is None:
            service, i = args[i], i + 1
        else:
            return None  # a second argument: click refuses it
    service = service or environ.get("BLUEGREEN_SERVICE") or None
    lang = values.get("lang") or environ.get("BLUEGREEN_LANG") or None
    if not service or service.startswith("-") or (lang is not None and lang not in _langs()):
        return None
    return {"config": values.get("config"), "service": service,
            "report": values.get("report") or environ.get("BLUEGREEN_REPORT") or None}


def _langs() -> tuple[str, ...]:
    from bluegreen.messages import LANGS  # the catalogues: imported only when a language is named

    return LANGS


def _option(args: list[str], i: int, known: Mapping[str, str], values: dict[str, str]) -> int:
    """Read the option at `i` into `values`; the index after it, or -1 when it is not a known one with a plain
    value (an empty one, or one that looks like an option, is left to click)."""
    name, eq, value = args[i].partition("=")
    if name not in known:
        return -1
    if not eq:
        if i + 1 >= len(args):
            return -1
        i, value = i + 1, args[i + 1]
    if not value or value.startswith("-"):
        return -1
    values[known[name]] = value
    return i + 1


def main(argv: Sequence[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    quick = None
    wanted = rollback_args(args, os.environ)
    if wanted and _report_writable(wanted["report"]):
        from bluegreen.quick.rollback import attempt

        try:
            quick = attempt(wanted["config"], wanted["service"])
        except KeyboardInterrupt as interrupted:  # Ctrl-C in the quick window: as the CLI ends any interrupted run
            from bluegreen.cli.app import exit_for  # (what it left, the next run's look sees and repairs)

            exit_for(interrupted)
    from bluegreen.cli.app import main as cli_main

    try:
        cli_main(args, quick=quick)
    finally:
        if quick is not None and not quick.taken:  # the CLI stopped before the rollback took the switch over
            try:
                quick.undo()
            except BaseException as error:  # nginx gone, a full disk, Ctrl-C: one line and its code, no traceback
                from bluegreen.cli.app import undo_failed

                undo_failed(error, quick, args)


def _report_writable(path: str | None) -> bool:
    """The rollback refuses a --report it cannot write before anything changes; the quick path must not switch
    first. Checked with the CLI's own open_report, which opens it again for real."""
    if path is None:
        return True
    from bluegreen.cli.report_file import open_report

    try:
        fd, _ = open_report(path) or (None, None)
    except Exception:
        return False
    if fd is not None:
        os.close(fd)
    return True
