"""The command line. Thin: options → commands.py (which composes operations); `main` maps errors to exit codes.

Exit codes (see errors.py): 0 ok · 1 failed (after automatic rollback) / rollback unavailable · 2 bad input ·
3 inconsistent · 4 lock held · 5 rolled back by monitoring · 6 Docker/nginx/Jenkins unreachable.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import replace
from typing import TYPE_CHECKING, Callable, NoReturn

import click

from bluegreen import __version__, commands
from bluegreen.cli import options as cli_options
from bluegreen.commands import Options
from bluegreen.errors import BlueGreenError, Stopped, exit_code_for, storage_failure
from bluegreen.messages import LANGS, detect_language
from bluegreen.output import Reporter, escape
from bluegreen.report import Report, failure_report
from bluegreen.cli.report_file import open_report

if TYPE_CHECKING:  # imported by cli/entry.py only when a rollback runs
    from bluegreen.quick.rollback import QuickSwitch

SERVICE = click.argument("service", envvar="BLUEGREEN_SERVICE")
JSON = click.option("--json", "json_mode", is_flag=True, help="Print one JSON document on stdout (human lines go to stderr).")
REPORT = click.option("--report", type=click.Path(), envvar="BLUEGREEN_REPORT",
                      help="Also write the JSON report to this file, whether the operation succeeds or fails.")


class _Commands(click.Group):
    """`bluegreen jenkins …` is imported only when it runs (click's lazy-subcommand pattern): a rollback should
    not pay for the job-sync code."""

    LAZY = {"jenkins": ("bluegreen.jenkins.cli", "jenkins")}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *self.LAZY])

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.LAZY:
            import importlib

            module, attr = self.LAZY[name]
            return getattr(importlib.import_module(module), attr)
        return super().get_command(ctx, name)


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.option("--config", "config_path", type=click.Path(), envvar="BLUEGREEN_CONFIG",
              help="bluegreen.yml to use (default: ./bluegreen.yml).")
@click.option("--lang", type=click.Choice(LANGS), envvar="BLUEGREEN_LANG",
              help="Language of operator messages (default: from the locale).")
@click.version_option(version=__version__, prog_name="bluegreen", message="%(prog)s %(version)s")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, lang: str | None) -> None:
    """Zero-downtime Blue-Green deploys of Docker containers behind nginx."""
    # ctx.obj arrives from `main`: the switch the rollback's quick path made before click ran (entry.py), if any, and
    # the run's Reporter, the one masking owner every command prints through.
    base = ctx.obj if isinstance(ctx.obj, Options) else Options(None, detect_language(), out=Reporter("en"))
    base.out.lang = lang or detect_language()
    ctx.obj = replace(base, config_path=config_path, lang=base.out.lang)


def _with(opts: Options, json_mode: bool) -> Options:
    opts.out.json_mode = json_mode  # human lines to stderr: stdout carries the one JSON document
    return replace(opts, json_mode=json_mode)


def _reported(action: str, opts: Options, service: str, report_path: str | None,
              run: Callable[[], Report]) -> None:
    """Run an operation; its report reaches --report and --json whether it succeeds or not. The report file is
    opened first: a path that cannot be written is refused before anything changes, not after the deploy."""
    try:
        report = open_report(report_path)
    except BlueGreenError as error:
        cli_options.emit(failure_report(service, action, error, opts.out), opts, None)
        raise
    try:
        doc = run().as_dict()
    except BlueGreenError as error:
        partial = getattr(error, "report", None)
        doc = partial.as_dict() if partial else failure_report(service, action, error, opts.out)
        cli_options.emit(doc, opts, report)
        raise
    except BaseException:
        if report is not None:
            os.close(report[0])
        raise
    cli_options.emit(doc, opts, report)


@cli.command()
@SERVICE
@click.option("--image", envvar="BLUEGREEN_IMAGE",
              help="Image to deploy (default: the service's `image` from the config, ${VAR} expanded).")
@click.option("--monitor", envvar="BLUEGREEN_MONITOR", default=None,
              help="After the switch, watch the service this long (e.g. 60s) and roll back if it degrades "
                   "(exit 5). Empty or 0: no monitoring.")
@click.option("--drain-timeout", envvar="BLUEGREEN_DRAIN_TIMEOUT", default=None,
              help="How long requests still in flight on a color being replaced may take (e.g. 120s for long "
                   "answers), then they are cut and counted. Default: the service's drain_timeout (30s).")
@click.option("--stage", is_flag=True, envvar="BLUEGREEN_STAGE",
              help="Start and health-gate the new version and open its preview entry, but do not switch: "
                   "`promote` switches, `abort` removes it.")
@REPORT
@JSON
@click.pass_obj
def deploy(opts: Options, service: str, image: str | None, monitor: str | None, drain_timeout: str | None,
           stage: bool, report: str | None, json_mode: bool) -> None:
    """Deploy SERVICE's new image to the idle color and switch nginx to it."""
    opts = _with(opts, json_mode)
    _reported("deploy", opts, service, report,
              lambda: commands.deploy(opts, service, image=cli_options.image_option(image),
                                      monitor=cli_options.duration_option(monitor, "--monitor"), stage=stage,
                                      drain=cli_options.duration_option(drain_timeout, "--drain-timeout")))


@cli.command()
@SERVICE
@click.option("--monitor", envvar="BLUEGREEN_MONITOR", default=None,
              help="After the switch, watch the service this long (e.g. 60s) and roll back if it degrades (exit 5).")
@REPORT
@JSON
@click.pass_obj
def promote(opts: Options, service: str, monitor: str | None, report: str | None, json_mode: bool) -> None:
    """Switch SERVICE to its staged color (`deploy --stage`) after a fresh health check."""
    opts = _with(opts, json_mode)
    _reported("promote", opts, service, report,
              lambda: commands.promote(opts, service, monitor=cli_options.duration_option(monitor, "--monitor")))


@cli.command()
@SERVICE
@REPORT
@JSON
@click.pass_obj
def abort(opts: Options, service: str, report: str | None, json_mode: bool) -> None:
    """Remove SERVICE's staged color and close its preview; the active color serves as before."""
    opts = _with(opts, json_mode)
    _reported("abort", opts, service, report, lambda: commands.abort(opts, service))


@cli.command()
@SERVICE
@click.option("--reason", envvar="BLUEGREEN_REASON", help="Why (kept in history).")
@REPORT
@JSON
@click.pass_obj
def rollback(opts: Options, service: str, reason: str | None, report: str | None, json_mode: bool) -> None:
    """Switch SERVICE back to the previous color, which must still run and be healthy."""
    opts = _with(opts, json_mode)
    _reported("rollback", opts, service, report,
              lambda: commands.rollback(opts, service, reason=cli_options.reason_option(reason)))


@cli.command()
@SERVICE
@click.option("--duration", envvar="BLUEGREEN_MONITOR", default=None,
              help="How long to watch (e.g. 60s; default: the service's monitor.duration).")
@click.pass_obj
def monitor(opts: Options, service: str, duration: str | None) -> None:
    """Watch SERVICE's active color; roll back to the previous one if it degrades (exit 5)."""
    commands.monitor(opts, service, duration=cli_options.duration_option(duration, "--duration", zero=False))


@cli.command()
@SERVICE
@JSON
@click.pass_obj
def status(opts: Options, service: str, json_mode: bool) -> None:
    """Show SERVICE's colors, containers and what nginx serves; exit 3 when they are not consistent."""
    commands.status(_with(opts, json_mode), service)


@cli.command()
@SERVICE
@JSON
@click.pass_obj
def doctor(opts: Options, service: str, json_mode: bool) -> None:
    """Check the system around SERVICE (nginx, Docker, this host), one line and one fix each; exit 1 when a check
    fails, 0 when none does (warnings are listed)."""
    commands.doctor(_with(opts, json_mode), service)


@cli.command()
@SERVICE
@click.option("--limit", type=click.IntRange(1, 10000), default=20, show_default=True, help="How many entries.")
@JSON
@click.pass_obj
def history(opts: Options, service: str, limit: int, json_mode: bool) -> None:
    """List SERVICE's deploys and rollbacks, newest first."""
    entries = commands.history(opts, service, limit)
    out = opts.out  # the service's secrets registered: an image built from one is kept whole, printed masked
    if json_mode:
        out.document(entries)
        return
    out.line(f"{'TIME':<22}{'ACTION':<16}{'FROM → TO':<16}{'RESULT':<22}{'DURATION':<10}{'BUILD':<8}IMAGE")
    for e in entries:
        # What the file says is shown escaped (a reason with ANSI codes or a newline cannot forge lines).
        cell = {k: escape(str(v), limit=300) for k, v in e.items() if v is not None and v != ""}
        arrow = f"{cell.get('from', '-')} → {cell.get('to', '-')}"
        out.line(f"{cell.get('time', ''):<22}{cell.get('action', ''):<16}{arrow:<16}{cell.get('result', ''):<22}"
                 f"{cell.get('duration', '') + 's':<10}{cell.get('build', '-'):<8}{cell.get('image', '-')}")
        if cell.get("build_url"):
            out.line(f"{'':<22}{cell['build_url']}")
        if cell.get("reason") and (e.get("result") != "success" or e.get("action") == "rollback"):
            out.line(f"{'':<22}{cell['reason']}")


@cli.command()
@SERVICE
@JSON
@click.pass_obj
def images(opts: Options, service: str, json_mode: bool) -> None:
    """List SERVICE's local images: which `retain:` keeps (and why) and which it would remove."""
    found = commands.images(_with(opts, json_mode), service)
    out = opts.out
    if json_mode:
        out.document(found)
        return
    out.line(f"{'IMAGE':<48}{'ID':<14}{'KEEP':<6}WHY")
    for v in found:
        out.line(f"{v['ref']:<48}{v['image_id'].split(':')[-1][:12]:<14}{'yes' if v['keep'] else 'no':<6}{v['why']}")


@cli.command()
@SERVICE
@click.pass_obj
def credentials(opts: Options, service: str) -> None:
    """Print, as JSON, the Jenkins credential bindings SERVICE needs and its state_dir (for the Jenkins steps)."""
    from bluegreen import config as config_mod

    cfg = config_mod.load(opts.config_path)
    print(json.dumps(commands.credential_bindings(cfg.service(service), state_dir=cfg.state_dir), indent=2))


@cli.command()
@SERVICE
@click.option("--apply", "apply_", is_flag=True, envvar="BLUEGREEN_APPLY",
              help="Make the changes (default: a dry run that prints the diff of every file and changes nothing).")
@click.option("--nginx", envvar="BLUEGREEN_NGINX",
              help="The nginx container (default: bluegreen.yml's, else the one that publishes 80/443 and runs nginx).")
@click.option("--upstream", envvar="BLUEGREEN_UPSTREAM",
              help="The service's upstream block (default: the one that names <prefix>-blue / <prefix>-green).")
@click.option("--network", envvar="BLUEGREEN_NETWORK",
              help="The network nginx reaches the colors on, when they share more than one.")
@click.option("--switch", type=click.Choice(["reload", "shared-dict"]), envvar="BLUEGREEN_SWITCH",
              help="How traffic will move (default: reload, the guide's way).")
@click.option("--admin-dir", envvar="BLUEGREEN_ADMIN_DIR",
              help="shared-dict: the host directory mounted into nginx at the same path (default: /run/bluegreen).")
@click.option("--state-dir", envvar="BLUEGREEN_STATE_DIR",
              help="Where a new bluegreen.yml keeps lock, history and state (default: /var/lib/bluegreen).")
@click.pass_obj
def init(opts: Options, service: str, apply_: bool, nginx: str | None, upstream: str | None, network: str | None,
         switch: str | None, admin_dir: str | None, state_dir: str | None) -> None:
    """Take over SERVICE from the guide's setup: read the live system, write (or check) bluegreen.yml, and move
    the upstream block into bluegreen's own file, the same color serving. A dry run unless --apply."""
    commands.init(opts, service, apply=apply_, **cli_options.init_options(
        nginx=nginx, upstream=upstream, network=network, switch=switch, admin_dir=admin_dir, state_dir=state_dir))


@cli.group("config")
def config_group() -> None:
    """Check the configuration file."""


@config_group.command("check")
@click.pass_obj
def config_check(opts: Options) -> None:
    """Validate bluegreen.yml (every problem names its key); exit 2 when invalid."""
    from bluegreen import config as config_mod

    cfg = config_mod.load(opts.config_path)
    opts.out.say("config.ok", path=str(cfg.source), services=", ".join(cfg.services))




def exit_for(error: BaseException) -> NoReturn:
    """End the process with the error's documented exit code (an interrupted run: what it left, the next repairs)."""
    sys.exit(exit_code_for(error))


def main(argv: list[str] | None = None, *, quick: QuickSwitch | None = None) -> None:
    """The one place where errors become exit codes (entered through entry.py; `quick`: the rollback's quick switch,
    already made). Every line it prints goes through the run's one Reporter, masked with every secret the run
    learnt (a refusal raised while an operation began quotes values as they were given)."""
    out = Reporter(_lang_from_argv(argv, detect_language()))
    try:
        cli.main(args=argv, prog_name="bluegreen", standalone_mode=False,
                 obj=Options(None, out.lang, quick=quick, out=out))
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:  # click's usage errors, as one line like every other refusal
        ctx = getattr(exc, "ctx", None)
        print(out.message("cli.usage", error=" ".join(out.mask(exc.format_message()).split()),
                          command=ctx.command_path if ctx else "bluegreen"), file=sys.stderr)
        sys.exit(2)
    except click.Abort:
        sys.exit(130)
    except BlueGreenError as error:
        print(out.message(error.key, **error.params), file=sys.stderr)
        exit_for(error)
    except KeyboardInterrupt as error:
        exit_for(error)
    except Exception as error:  # a bug: one line (what the frame recorded), the traceback only when asked for
        if os.environ.get("BLUEGREEN_DEBUG"):
            raise
        if storage_failure(error):  # not a bug: the disk of state_dir is full or read-only
            print(out.message("cli.storage_failed", path=str(error.filename), error=error.strerror or str(error)),
                  file=sys.stderr)
            exit_for(error)
        text = escape(" ".join(out.mask(str(error)).split()), limit=200)  # masked, then cut
        print(f"❌ internal error: {type(error).__name__}: {text} (BLUEGREEN_DEBUG=1 shows the traceback)",
              file=sys.stderr)
        exit_for(error)
    sys.exit(0)


def undo_failed(error: BaseException, quick: QuickSwitch, argv: list[str]) -> NoReturn:
    """The rollback's quick switch could not be put back after the CLI stopped (entry.py): nginx went away, the disk
    is full. One line, exit 3 like any run stopped where it was (130 when interrupted), never a traceback."""
    if isinstance(error, KeyboardInterrupt):
        exit_for(error)
    detail = error.strerror if isinstance(error, OSError) and error.strerror else f"{type(error).__name__}: {error}"
    if isinstance(error, OSError) and error.filename:
        detail += f" ({error.filename})"
    stopped = Stopped("quick.undo_failed", service=quick.state.service, color=quick.source, target=quick.target,
                      error=" ".join(detail.split()))
    print(Reporter(_lang_from_argv(argv, detect_language())).message(stopped.key, **stopped.params), file=sys.stderr)
    exit_for(stopped)


def _lang_from_argv(argv: list[str] | None, default: str) -> str:
    args = sys.argv[1:] if argv is None else argv
    for i, arg in enumerate(args):
        if arg == "--lang" and i + 1 < len(args) and args[i + 1] in LANGS:
            return args[i + 1]
        if arg.startswith("--lang=") and arg[7:] in LANGS:
            return arg[7:]
    return default


