"""`bluegreen jenkins plan | sync | check`. Thin: options → Settings → bluegreen.jenkins.commands.

Errors are raised, not printed: the main CLI's `main` maps them to exit codes (2 bad declaration, credentials,
missing variables, a file that cannot be read, plain http without --insecure-http, or a declared name taken by an
item that is not ours · 3 drift found by `check` · 6 Jenkins unreachable · 1 Jenkins refused or failed).
python-jenkins is imported only once a command runs, so `bluegreen --help` works without it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import click

from bluegreen.jenkins.declaration import DEFAULT_PATH
from bluegreen.messages import detect_language


def _connection_options(command: Callable[..., Any]) -> Callable[..., Any]:
    command = click.option(
        "--insecure-http", is_flag=True, envvar="BLUEGREEN_JENKINS_INSECURE_HTTP", show_envvar=True,
        help="Send the API token over plain http to another machine (or through a proxy) anyway. Without it such a "
             "JENKINS_URL is refused (exit 2); http to this machine's loopback needs no flag.")(command)
    command = click.option(
        "--timeout", type=click.FloatRange(1, 600), default=30.0, show_default=True,
        envvar="BLUEGREEN_JENKINS_TIMEOUT", show_envvar=True, help="Seconds to wait for each Jenkins request.")(command)
    # Paths are checked by the loaders, not click: a directory then gets one line, like every other bad input.
    command = click.option(
        "--credentials-file", type=click.Path(), envvar="BLUEGREEN_JENKINS_CREDENTIALS_FILE", show_envvar=True,
        help="File with JENKINS_URL=, JENKINS_USER=, JENKINS_API_TOKEN= lines (overrides those environment "
             "variables). Refused unless only its owner can read it (chmod 600).")(command)
    return click.option(
        "--declaration", type=click.Path(), default=DEFAULT_PATH, show_default=True,
        envvar="BLUEGREEN_JENKINS_DECLARATION", show_envvar=True,
        help="The declaration file: folder, jobs and credentials to keep in Jenkins.")(command)


PRUNE = click.option("--prune", is_flag=True,
                     help="Also delete jobs and credentials this declaration made (its id in their marker) that "
                          "it no longer declares. Folders and items it did not make are never deleted.")
ADOPT = click.option("--adopt", multiple=True, metavar="NAME",
                     help="Take over the declared job or credential NAME although this declaration did not make "
                          "it (hand-made, another declaration's, or marked by an older bluegreen). Repeatable.")


@click.group("jenkins")
def jenkins() -> None:
    """Create the declared Jenkins folder, jobs and credentials, and keep Jenkins matching the declaration.

    The connection comes from JENKINS_URL, JENKINS_USER and JENKINS_API_TOKEN (or --credentials-file);
    credential values from the variables the declaration names, fingerprinted with
    BLUEGREEN_FINGERPRINT_KEY. TLS certificates are verified (REQUESTS_CA_BUNDLE names a private CA).
    """


@jenkins.command()
@_connection_options
@PRUNE
@ADOPT
@click.pass_context
def plan(ctx: click.Context, declaration: str, credentials_file: str | None, timeout: float,
         insecure_http: bool, prune: bool, adopt: tuple[str, ...]) -> None:
    """Show what `sync` would change, as a diff per item (secrets redacted), and each deletion. Changes nothing."""
    from bluegreen.jenkins.commands import run_plan

    run_plan(_settings(ctx, declaration, credentials_file, timeout, insecure_http, adopt), prune=prune)


@jenkins.command()
@_connection_options
@PRUNE
@ADOPT
@click.pass_context
def sync(ctx: click.Context, declaration: str, credentials_file: str | None, timeout: float,
         insecure_http: bool, prune: bool, adopt: tuple[str, ...]) -> None:
    """Create what is missing, update what differs, leave what matches untouched."""
    from bluegreen.jenkins.commands import run_sync

    run_sync(_settings(ctx, declaration, credentials_file, timeout, insecure_http, adopt), prune=prune)


@jenkins.command()
@_connection_options
@click.pass_context
def check(ctx: click.Context, declaration: str, credentials_file: str | None, timeout: float,
          insecure_http: bool) -> None:
    """Exit 3 when Jenkins differs from the declaration (for a scheduled drift check). Changes nothing."""
    from bluegreen.jenkins.commands import run_check

    run_check(_settings(ctx, declaration, credentials_file, timeout, insecure_http))


def _settings(ctx: click.Context, declaration: str, credentials_file: str | None, timeout: float,  # noqa: ANN202
              insecure_http: bool, adopt: tuple[str, ...] = ()):
    from bluegreen.jenkins.commands import Settings
    from bluegreen.output import Reporter

    # The main CLI's options object carries --lang, --config and the run's Reporter (which the CLI's refusals are
    # masked with too); run on its own, this group has none of them.
    main = ctx.find_root().obj
    lang = getattr(main, "lang", None) or detect_language()
    return Settings(declaration=Path(declaration), credentials_file=credentials_file, timeout=timeout,
                    config_path=getattr(main, "config_path", None), lang=lang, adopt=tuple(adopt),
                    insecure_http=insecure_http, out=getattr(main, "out", None) or Reporter(lang))
