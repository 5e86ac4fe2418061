"""The switch seam: point traffic at a color, and read which color nginx actually serves.

Today's switch is the guide's: bluegreen owns one upstream file inside nginx, renders it, tests it with
`nginx -t` and reloads (nginx.py). Operations call `look`, `render`, `apply` and `drain`, never nginx itself. The
rollback's quick path swaps and reloads from the host instead (quick/rollback.py); `ticket` records
what it needs at every confirmed switch and `settle` confirms its work through Docker.

What nginx serves is what it *loaded*, which is neither the file on disk (an operator may have edited it without
reloading) nor what bluegreen remembers (an operator may have edited it and reloaded: the guide's own
troubleshooting flow). nginx starts a new generation of worker processes each time it loads its configuration,
so the evidence is the generation:
- the workers are the ones bluegreen saw right after its last confirmed switch → nginx has loaded nothing since:
  it serves the text bluegreen confirmed, whatever the disk says now;
- the workers are newer and started after the file last changed → nginx loaded the file as it is on disk;
- the file changed after the newest load → what nginx serves is not known from here ("edited, not loaded").
The engine gives process ages in whole seconds: a file written less than a second before a reload counts as
loaded by it (an edit followed by `nginx -s reload` in one script), one written later does not.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol, Sequence

from bluegreen import failpoints
from bluegreen.colors import other
from bluegreen.errors import Inconsistent
from bluegreen.parts import host_nginx, quick_ticket
from bluegreen.parts.access_log import LogSource
from bluegreen.parts.dict_file import new_generation
from bluegreen.parts.instance import Server
from bluegreen.parts.nginx import Generation, NginxControl
from bluegreen.parts.nginx_config import Dump
from bluegreen.parts.render import render_upstream
from bluegreen.parts.state import ServiceState
from bluegreen.parts.upstream import UpstreamView, parse_upstream
from bluegreen.config.settings import Service

CONFIRMED, RELOADED, UNKNOWN = "confirmed", "reloaded", "unknown"
AGE_RESOLUTION = 1.0  # seconds: `ps -o etimes` counts whole seconds


class Hosts(Protocol):
    """What the upstream file names for each color (the runtime seam provides it)."""

    resolver: str | None

    def servers(self, color: str) -> Sequence[Server]: ...


@dataclass(frozen=True)
class Record:
    """What bluegreen remembers of its own switches (from the state): the text nginx confirmed, the workers
    that confirmed it, and a text it was installing when it was interrupted."""

    text: str | None = None
    workers: frozenset[str] = frozenset()
    pending: str | None = None


@dataclass(frozen=True)
class Served:
    disk: str | None  # the file as it is on disk now
    loaded: str | None  # the file as nginx loaded it (None: not known)
    how: str  # CONFIRMED | RELOADED | UNKNOWN (see the module docstring)
    since: float | None  # when nginx loaded it (epoch seconds), when known
    generation: Generation
    view: UpstreamView  # the upstream block of `loaded` (of the disk when not known)
    container: str  # the nginx container
    source: str | None = None  # shared-dict: "dict", or "file" when the dictionary is empty (after a restart)
    loaded_file: str | None = None  # shared-dict: the file nginx loaded, when `loaded` (what it serves) differs
    problems: tuple[tuple[str, dict[str, str], bool], ...] = ()  # shared-dict: (message id, params, repairable)

    @property
    def file(self) -> str | None:
        """The file nginx loaded (for the reload switch, what it serves)."""
        return self.loaded_file if self.loaded_file is not None else self.loaded

    @property
    def disk_loaded(self) -> bool:
        return self.loaded is not None and self.loaded == self.disk


@dataclass(frozen=True)
class Scan:
    """Every file nginx reads (`nginx -T`), and how far that is what it serves. `nginx -T` reads the files on
    disk; a file (other than bluegreen's, which has its own evidence) changed after nginx last loaded its
    configuration may not be what nginx serves (`edited`). `dump` is None when nginx cannot read its configuration
    (`error`: its last line)."""

    dump: Dump | None
    own: str  # bluegreen's file (the upstream file)
    workers: frozenset[str]  # the worker generation the files were read under
    edited: tuple[str, ...] = ()
    error: str = ""

    @property
    def known(self) -> bool:
        """What nginx serves from every file but bluegreen's is the text read here."""
        return self.dump is not None and not self.edited

    @property
    def own_text(self) -> str | None:
        found = self.dump.file(self.own) if self.dump else None
        return found.text if found else None


class Switch(Protocol):
    """The switch seam: what operations (through the frame) and the look call. ReloadSwitch here, SharedDictSwitch
    in shared_dict.py."""

    mode: str
    path: str
    container: str

    def running(self) -> bool: ...

    def secure(self) -> list[tuple[str, dict[str, str]]]: ...

    def access_log(self) -> LogSource | None: ...

    def look(self, record: Record) -> Served: ...

    def view_of(self, text: str | None) -> UpstreamView: ...

    def scan(self) -> Scan: ...

    def render(self, *, primary: str, backup: str | None, preview: str | None = None) -> str: ...

    def setup_files(self) -> dict[str, str]: ...

    def apply(self, text: str, previous: str | None) -> Generation: ...

    def settle(self, text: str, previous: str | None) -> Generation: ...

    def rewrite(self, text: str) -> None: ...

    def ticket(self, text: str) -> dict | None: ...

    def quick_readiness(self, state: ServiceState) -> str: ...

    def drain(self, timeout: float, peers: set[str] | None = None,
              progress: Callable[[int | None, float], None] | None = None) -> bool: ...


class ReloadSwitch:
    mode = "reload"

    def __init__(self, control: NginxControl, service: Service, hosts: Hosts | None = None,
                 config_digest: str | None = None) -> None:
        self.control, self.service = control, service
        self.hosts = hosts  # each color's `server` hosts (the runtime's); None: the color's one container
        self.config_digest = config_digest  # the config file's, for the rollback's quick path (its ticket)

    @property
    def path(self) -> str:
        return self.control.path

    @property
    def container(self) -> str:
        return self.control.container

    def running(self) -> bool:
        """nginx's container runs (its files can be read when it is stopped, but nothing served or reloaded)."""
        return self.control.running()

    def secure(self) -> list[tuple[str, dict[str, str]]]:
        """Nothing to secure before an operation: no channel but Docker's (shared-dict: its admin socket)."""
        return []

    def access_log(self) -> LogSource | None:
        return self.control.access_log()

    def look(self, record: Record) -> Served:
        file = self.control.read()
        generation = self.control.generation()
        loaded, how, since = loaded_file(record, file.text, file.mtime, generation)
        view = self.view_of(loaded if how != UNKNOWN else file.text)
        return Served(file.text, loaded, how, since, generation, view, self.container)

    def view_of(self, text: str | None) -> UpstreamView:
        return parse_upstream(text, self.service.upstream)

    _scan: Scan | None = None  # the last scan whose files are what nginx serves

    def scan(self) -> Scan:
        """Every file nginx reads, as it serves them (`nginx -T`, ~0.15 s). While nginx has loaded nothing since
        (the same workers) a scan whose files it served is served still, whatever the disk says now: it is
        returned again without running nginx at all. So a run that reads nginx before it changes anything keeps
        knowing what nginx serves when someone breaks a file meanwhile (its undo still can tell)."""
        generation = self.control.generation()
        last = self._scan
        if last is not None and last.workers == generation.workers:
            return last
        try:
            dump = self.control.dump()
        except Inconsistent as error:
            return Scan(None, self.path, generation.workers, error=str(error.params.get("error", "")))
        if generation.started is None:  # no worker serves: nothing is known to be loaded
            edited = tuple(f.path for f in dump.files if f.path != self.path)
        else:
            edited = tuple(p for p in dump.edited_since(generation.started, AGE_RESOLUTION) if p != self.path)
        scan = Scan(dump, self.path, generation.workers, edited)
        if scan.known:
            self._scan = scan
        return scan

    def render(self, *, primary: str, backup: str | None, preview: str | None = None) -> str:
        hosts = self.hosts
        return render_upstream(self.service, primary=primary, backup=backup, generation=new_generation(),
                               preview=preview, servers=hosts.servers if hosts else None,
                               resolver=hosts.resolver if hosts else None,
                               segments=self.control.segments() if preview else ())

    def setup_files(self) -> dict[str, str]:
        """Files nginx must have besides the upstream file before this switch works (path → text): none here."""
        return {}

    def apply(self, text: str, previous: str | None) -> Generation:
        """Serve `text` (swap, `nginx -t`, reload, confirm); on failure `previous` serves again."""
        return self.control.apply(text, previous)

    def settle(self, text: str, previous: str | None) -> Generation:
        """The rollback's quick path swapped `text` in and nginx reloaded it (seen from the host): confirmed here
        through Docker. Were the file in the container anything else, `text` is applied the full way."""
        if self.control.read().text != text:
            return self.apply(text, previous)
        failpoints.reach("nginx.installed")
        return self.control.generation()

    def rewrite(self, text: str) -> None:
        """nginx serves `text` already: write it on disk (no test, no reload), replacing an interrupted run's file."""
        self.control.install(text)  # raises when the swap itself fails

    def ticket(self, text: str) -> dict | None:
        """What the next rollback's quick path needs to switch away from `text` (parts/quick_ticket.py): nginx's
        master and workers, the file a rollback installs (rendered now) and the target's instance (its address is
        asked of Docker at the rollback).
        None where it does not apply: replicas and Swarm tasks are checked one by one by the runtime; no other
        color runs; nginx not visible from here."""
        scale, runtime = self.service.scale, self.hosts
        if scale.replicas != 1 or scale.runtime != "containers" or not self.config_digest or runtime is None:
            return None
        colors = {self.service.color_of(h) for h in self.view_of(text).primaries}
        master = self.control.master()
        if len(colors) != 1 or None in colors or master is None:
            return None
        color = colors.pop()
        target = other(color)
        found = runtime.instances(target)
        if not found or not found[0].running:
            return None
        health = self.service.health
        return quick_ticket.make_reload(
            text, color=color, config_digest=self.config_digest, master=master, path=self.path,
            workers=host_nginx.workers(master) or [], rollback=self.render(primary=target, backup=color),
            instance=found[0].name, network=runtime.network, port=self.service.port, health_path=health.path,
            probe_timeout=health.request_timeout, reload_timeout=self.control.settings.reload_timeout)

    def quick_readiness(self, state: ServiceState) -> str:
        """`ready` when the next rollback may take the quick path, from what the host sees of nginx now; else why
        not (parts/quick_ticket.py)."""
        answer = quick_ticket.reload_answer(state.quick or {})
        return quick_ticket.why_not(state, answer, self.config_digest) or "ready"

    def drain(self, timeout: float, peers: set[str] | None = None,
              progress: Callable[[int | None, float], None] | None = None) -> bool:
        return self.control.drain(timeout, peers, progress)


def loaded_file(record: Record, disk: str | None, mtime: float | None,
                generation: Generation) -> tuple[str | None, str, float | None]:
    """The file nginx loaded, how that is known, and since when (see the module docstring)."""
    if record.text is not None and record.workers and record.workers == generation.workers:
        return record.text, CONFIRMED, None
    if generation.started is None or mtime is None or mtime <= generation.started + AGE_RESOLUTION:
        return disk, RELOADED, generation.started
    return None, UNKNOWN, None
