"""The three commands as runbooks: read the declaration and every value, then talk to Jenkins.

Everything that can be wrong locally (declaration, scripts, bluegreen.yml, missing variables) is found before
the first request, and every missing variable is named in one error: nothing is read or written until all
of them are there.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bluegreen import config as bluegreen_config
from bluegreen.config.file import DEFAULT_PATH as CONFIG_DEFAULT_PATH
from bluegreen.errors import Inconsistent, UsageError
from bluegreen.files import Unreadable, read_bounded
from bluegreen.jenkins import connection, declaration, desired, values
from bluegreen.jenkins.xmltext import printable, unsafe_char
from bluegreen.jenkins.compare import DELETE, KEEP, ORPHAN, Plan, Scope, make_plan
from bluegreen.output import Reporter
from bluegreen.config.safe_yaml import MAX_BYTES


@dataclass(frozen=True)
class Settings:
    declaration: Path
    credentials_file: str | None
    timeout: float
    config_path: str | None  # the main --config / BLUEGREEN_CONFIG, when the declaration names none
    lang: str
    adopt: tuple[str, ...] = ()  # declared names to take over although another owner's marker (or none) is there
    insecure_http: bool = False  # send the token over plain http that leaves this machine anyway
    out: Reporter | None = None  # the run's Reporter (cli.main masks its refusals with it); a new one if None


def run_plan(settings: Settings, *, prune: bool) -> None:
    """Show, per item, what `sync` would change, as a diff of canonical XML. Writes nothing."""
    run = _read(settings, prune=prune)
    for change in run.plan.pending:
        _announce(run.out, change.action, change.kind, change.name)
        if change.action not in (ORPHAN, DELETE) and change.kind != "folder":
            for line in change.diff():
                run.out.line(printable(line))
    _summary(run.out, run.plan)
    _refuse_conflicts(run)


def run_check(settings: Settings) -> None:
    """Exit 3 (Inconsistent) when Jenkins differs from the declaration, naming what differs."""
    run = _read(settings, prune=False)
    for change in run.plan.pending:
        _announce(run.out, change.action, change.kind, change.name)
    _refuse_conflicts(run)
    if run.plan.pending:
        raise Inconsistent("jenkins.drift", count=len(run.plan.pending), folder=run.plan.folder)
    run.out.say("jenkins.in_sync", folder=run.plan.folder, count=len(run.plan.changes))


def run_sync(settings: Settings, *, prune: bool) -> None:
    """Create what is missing, update what differs, leave what matches; delete managed leftovers with prune."""
    from bluegreen.jenkins.apply import apply

    run = _read(settings, prune=prune)
    _refuse_conflicts(run)  # before the first write: a conflict means the declaration can't be carried out
    apply(run.client, run.plan, run.out)
    for change in run.plan.pending:
        if change.action == ORPHAN:
            _announce(run.out, change.action, change.kind, change.name)
    _summary(run.out, run.plan, done=True)


# --- shared steps ---
@dataclass(frozen=True)
class _Run:
    out: Reporter
    client: Any  # bluegreen.jenkins.client.Client (imported lazily: python-jenkins is optional)
    plan: Plan


def _read(settings: Settings, *, prune: bool) -> _Run:
    decl = declaration.load(settings.declaration)
    services, scripts = _rollback_inputs(decl, settings)
    conn, missing_conn = connection.resolve(settings.credentials_file)
    creds, key, missing_values = values.read_values(decl.credentials)
    values.require(missing_conn + missing_values)
    assert conn is not None  # require() raised otherwise
    out = settings.out or Reporter(settings.lang)
    out.add_secrets(_maskable(creds) + [conn.token])
    if conn.plain_http_remote:  # before the first request: the token goes with every one
        if not settings.insecure_http:
            raise UsageError("jenkins.plain_http_refused", url=conn.url)
        out.say("jenkins.plain_http", url=conn.url)
    client = _make_client(conn, settings.timeout, out)
    wanted = desired.build(decl, values=creds, key=key, services=services, scripts=scripts)
    _check_adopt(settings.adopt, wanted)
    scope = Scope(decl.id, decl.folder, frozenset(settings.adopt))
    return _Run(out, client, make_plan(client, scope, wanted, prune=prune))


def _check_adopt(adopt: tuple[str, ...], wanted: list[desired.Wanted]) -> None:
    """--adopt names must be declared: adopting takes an item over, so a typo must not pass silently."""
    known = {w.name for w in wanted} | {w.short for w in wanted}
    unknown = [name for name in adopt if name not in known]
    if unknown:
        raise UsageError("jenkins.adopt_unknown", names=", ".join(unknown))


def _refuse_conflicts(run: _Run) -> None:
    """Say every conflict (one line each), then refuse: nothing has been written."""
    for change in run.plan.conflicts:
        run.out.say(change.reason, kind=run.out.text(f"jenkins.kind.{change.kind}"), name=change.name,
                    found=printable(change.found) or "-", wanted=change.wanted or "-")
    if run.plan.conflicts:
        raise UsageError("jenkins.conflicts", count=len(run.plan.conflicts), folder=run.plan.folder)


def _maskable(creds: tuple[values.CredentialValue, ...]) -> list[str]:
    """Values every printed line and server-quoted detail is masked with: a second line of defence, since
    no code path renders them. Usernames and short values stay out: masking "admin" would garble ids like
    "maice-admin" and hide nothing that needs hiding."""
    return [p.reveal() for v in creds for p in (v.secret, v.password) if p is not None and len(p.reveal()) >= 8]


def _make_client(conn: connection.Connection, timeout: float, out: Reporter) -> Any:
    from bluegreen.jenkins.client import Client  # python-jenkins: imported only when Jenkins is talked to

    return Client(conn, timeout=timeout, scrub=out.mask)


def _rollback_inputs(decl: declaration.Declaration, settings: Settings) -> tuple[tuple[str, ...], dict[str, str]]:
    """The Rollback job's SERVICE choices (bluegreen.yml) and its pipeline script, read from the repo."""
    if not decl.rollback_jobs:
        return (), {}
    path = decl.bluegreen_config or (Path(settings.config_path) if settings.config_path
                                     else decl.source.parent / CONFIG_DEFAULT_PATH)
    services = tuple(bluegreen_config.load(path).services)
    scripts = {}
    for job in decl.rollback_jobs:
        try:
            text = read_bounded(job.script, MAX_BYTES).decode("utf-8")
        except Unreadable as exc:
            if exc.why == "missing":
                raise UsageError("jenkins.script_missing", job=job.name, path=str(job.script)) from None
            raise UsageError("jenkins.script_unreadable", job=job.name, path=str(job.script),
                             error=exc.reason) from None
        except UnicodeDecodeError as exc:
            raise UsageError("jenkins.script_not_text", job=job.name, path=str(job.script),
                             char=f"byte {exc.start}") from None
        # CRLF from a Windows editor: XML turns it into LF anyway; doing it here keeps what we send exact.
        text = text.replace("\r\n", "\n")
        char = unsafe_char(text)
        if char is not None:
            raise UsageError("jenkins.script_not_text", job=job.name, path=str(job.script), char=char)
        if decl.agent_label is not None and "AGENT_LABEL" not in text:
            # The label would reach the job as a parameter nothing reads: the rollback would run on any agent.
            raise UsageError("jenkins.script_ignores_label", job=job.name, path=str(job.script))
        scripts[job.name] = text
    return services, scripts


def _announce(out: Reporter, action: str, kind: str, name: str) -> None:
    out.say(f"jenkins.plan.{action}", kind=out.text(f"jenkins.kind.{kind}"), name=name)


def _summary(out: Reporter, plan: Plan, *, done: bool = False) -> None:
    counts = {a: plan.count(a) for a in ("create", "update", DELETE, ORPHAN, KEEP)}
    out.say("jenkins.synced" if done else "jenkins.plan.summary", folder=plan.folder, **counts)
