"""Changing what nginx serves, safely: keep the previous file, swap atomically, `nginx -t`, reload, confirm.

Why each step (docs/facts.md 1-7):
- nginx reads its files only at test/reload, and we hold the service lock, so the new file may sit on disk
  for the instant between the swap and `nginx -t`; on a failed test the previous file goes straight back.
- the swap is a rename inside the container (`mv -f`), so nginx never reads a half-written file;
- `nginx -s reload` can exit 0 without applying (bind errors are only logged by the master), so a reload is
  confirmed by seeing a new generation of worker processes, which the master starts only after it applied
  the new config.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

from bluegreen import failpoints
from bluegreen.clock import REAL, Clock
from bluegreen.errors import DeployFailed, Inconsistent
from bluegreen.parts import host_nginx, in_flight
from bluegreen.parts.access_log import LogSource, open_source
from bluegreen.parts.engine import Docker, FileRead, Process
from bluegreen.parts.host_nginx import MASTER, SHUTTING_DOWN, WORKER
from bluegreen.parts.nginx_config import Dump, DumpUnreadable, parse_dump, version_of
from bluegreen.config.settings import Nginx



@dataclass(frozen=True)
class Checked:
    """nginx as `nginx -V` and `nginx -T` describe it now (NginxControl.check)."""

    version: str  # "1.22.1"; "" when `nginx -V` printed no version
    configure: str  # `nginx -V`'s configure arguments (modules compiled in)
    dump: Dump | None  # the configuration nginx would load now, None when `nginx -T` fails
    error: str = ""  # nginx's error line when `nginx -T` fails


@dataclass(frozen=True)
class Generation:
    """The worker processes serving now: nginx starts a new set each time it loads its configuration."""

    workers: frozenset[str]  # pids
    started: float | None  # epoch seconds when the oldest of them started (±1 s: `ps` counts whole seconds)


class NginxControl:
    def __init__(self, docker: Docker, settings: Nginx, path: str, clock: Clock = REAL) -> None:
        self.docker, self.settings, self.path, self.clock = docker, settings, path, clock
        self.container = settings.container
        directory, _, base = path.rpartition("/")
        # Names that nginx's `conf.d/*.conf` include never matches.
        self._tmp = f"{directory}/.{base}.bluegreen-tmp"

    def running(self) -> bool:
        info = self.docker.inspect(self.container)
        return bool(info and info.running)

    def segments(self) -> list[tuple[str, str]]:
        """(gateway, subnet) of each network nginx is on: who the preview entry admits and denies (render.py)."""
        return self.docker.segments(self.container)

    def access_log(self) -> LogSource | None:
        """nginx's access log as configured (`nginx.access_log`), for the monitor; None when `off`."""
        return open_source(self.docker, self.container, self.settings.access_log)

    def read(self) -> FileRead:
        return self.docker.read_file(self.container, self.path)

    def dump(self) -> Dump:
        """Every file nginx's configuration reads, as `nginx -T` prints them (nginx_config.py), each with its
        modification time (one `stat` of the files it listed), so that a caller can tell which were edited after
        nginx last loaded them. Inconsistent (exit 3) when nginx cannot read its own configuration."""
        code, out, err = self.docker.exec_split(self.container, ["nginx", "-T"])
        if code != 0:
            raise Inconsistent("nginx.dump_failed", nginx=self.container, error=_last_line(err or out))
        try:
            dump = parse_dump(out)
        except DumpUnreadable as exc:
            raise Inconsistent("nginx.dump_failed", nginx=self.container, error=str(exc)) from None
        paths = [f.path for f in dump.files]
        code, out, _ = self.docker.exec_split(self.container, ["stat", "-c", "%Y %n", "--", *paths])
        mtimes = {}
        for line in out.splitlines():  # files that vanished since are simply not listed
            stamp, _, path = line.partition(" ")
            if stamp.isdigit() and path in paths:
                mtimes[path] = float(stamp)
        return dump.with_mtimes(mtimes)

    def check(self) -> Checked:
        """nginx's version and modules (`nginx -V`) and whether its files load now (`nginx -T`: a test, and the
        configuration when it passes), in one exec; no modification times (`dump` adds them). A failure only on a
        name Docker's DNS did not answer is tried again, as a switch's test is (`_test_again`)."""
        deadline = self.clock.deadline(_DNS_RETRY)
        while True:
            code, out, err = self.docker.exec_split(self.container, ["sh", "-c", _CHECK])
            about, _, dumped = out.partition(_CHECK_MARK + "\n")
            version = version_of(about)
            configure = next((line for line in about.splitlines() if line.startswith("configure arguments:")), "")
            if code == 0 or _UNRESOLVED not in err or deadline.expired:
                break
            deadline.pause(0.5)
        found = ".".join(map(str, version))
        if code != 0:  # nginx's line without the time and pid its error_log adds when it logs to stderr
            return Checked(found, configure, None, _LOGGED.sub(r"\1 ", _last_line(err or dumped)))
        try:
            return Checked(found, configure, parse_dump(dumped))
        except DumpUnreadable as exc:
            return Checked(found, configure, None, str(exc))

    def links(self, paths: list[str]) -> dict[str, str]:
        """What each path that is a symbolic link inside the container points to (one step: the official image's
        access log is a link to /dev/stdout, which is itself a link to a pipe). Other paths are left out."""
        if not paths:
            return {}
        code, out, _ = self.docker.exec_split(self.container, ["sh", "-c", _LINKS, "bluegreen", *paths])
        found = {}
        for path, target in zip(paths, out.split("\n")):
            if target:
                found[path] = target
        return found

    def install(self, text: str, *, keep_backup: bool = False, test: bool = False) -> tuple[bool, str]:
        """Replace the file atomically inside the container: write a temporary file beside it, rename it over
        the target and, with `test`, run `nginx -t`, all in one exec fed `text` on stdin (each Docker round trip
        costs ~80 ms of a one-second rollback).

        `keep_backup` first copies the current file to `<file>.backup` (the guide's `default.conf.backup`, for an
        operator's manual restore).
        """
        script = (_BACKUP if keep_backup else "") + _SWAP + (_TEST if test else "")
        code, out = self.docker.exec(self.container, ["sh", "-c", script, "bluegreen", self._tmp, self.path],
                                     stdin=text.encode("utf-8"))
        if code == _SWAP_FAILED:
            raise DeployFailed("nginx.swap_failed", path=self.path, error=_last_line(out))
        return code == 0, out.strip()

    def install_module(self, path: str, text: str) -> None:
        """Write a file nginx includes beside the owned one (the njs module of `switch: shared-dict`), atomically."""
        directory = path.rpartition("/")[0]
        script = 'mkdir -p "$3" && cat > "$1" && mv -f "$1" "$2" || exit 97'
        code, out = self.docker.exec(self.container, ["sh", "-c", script, "bluegreen", f"{path}.bluegreen-tmp", path,
                                                      directory], stdin=text.encode("utf-8"))
        if code != 0:
            raise DeployFailed("nginx.swap_failed", path=path, error=_last_line(out))

    def generation(self) -> Generation:
        return self._generation(self.docker.processes(self.container))

    def _generation(self, processes: list[Process]) -> Generation:
        now = self.clock.now()
        current = [p for p in processes if WORKER in p.args and SHUTTING_DOWN not in p.args]
        started = now - max(p.age for p in current) if current else None
        return Generation(frozenset(p.pid for p in current), started)

    def master(self) -> int | None:
        """The master process's pid on this host (what `docker top` lists), None when none is found."""
        return _master(self.docker.processes(self.container))

    def workers(self) -> set[str]:
        return set(self.generation().workers)

    def drain(self, timeout: float, peers: set[str] | None = None,
              progress: Callable[[int | None, float], None] | None = None) -> bool:
        """Wait until nginx's workers of an older generation (a reload leaves them finishing what they proxy) no
        longer proxy anything to `peers` (`ip:port`, the instances about to stop) — or, with no peers or when their
        sockets cannot be read from this host, until none is shutting down at all. False when some remain after
        `timeout`. Narrowed to the peers, a stream on the other color through an old worker costs nothing.
        `progress(held or None when not counted, seconds left)` while it waits."""
        deadline = self.clock.deadline(timeout)
        while True:
            processes = self.docker.processes(self.container)
            old = [int(p.pid) for p in processes if SHUTTING_DOWN in p.args and p.pid.isdigit()]
            if not old:
                return True
            master = _master(processes)
            held = in_flight.held_by(old, peers) if peers and master and host_nginx.is_master(master) else None
            if held == 0:
                return True
            if deadline.expired:
                return False
            if progress:
                progress(held, deadline.remaining)
            deadline.pause(0.05)

    def reload(self) -> Generation:
        """Graceful reload, confirmed by new workers within `reload_timeout`; raises when not confirmed.

        `reload: signal` sends SIGHUP to nginx's master from this host, never through the Docker API: Docker marks
        a container that was sent any signal through its API as stopped by hand, and `restart: unless-stopped` then
        leaves nginx down after the next engine restart — a reboot (moby/moby#41302; measured on Docker 20.10).
        Where the master cannot be signalled from here (bluegreen in another PID namespace, or another user than
        nginx's), `nginx -s reload` inside the container does it (~50 ms more)."""
        processes = self.docker.processes(self.container)
        before = self._generation(processes).workers
        deadline = self.clock.deadline(self.settings.reload_timeout)
        master = _master(processes) if self.settings.reload == "signal" else None
        if master is None or not host_nginx.hup(master):
            code, out = self.docker.exec(self.container, ["nginx", "-s", "reload"])
            if code != 0:
                raise DeployFailed("nginx.reload_failed", error=_last_line(out))
        while True:
            # Confirmed when new workers run and every old one is gone or shutting down (no longer accepting):
            # from then on, every new connection is served by the new config.
            now = self.generation()
            if now.workers - before and not (now.workers & before):
                return now
            if deadline.expired:
                raise DeployFailed("nginx.reload_unconfirmed", seconds=f"{self.settings.reload_timeout:.0f}")
            deadline.pause(0.02)

    def apply(self, text: str, previous: str | None) -> Generation:
        """Swap in `text` and make nginx serve it; on any failure put `previous` back and serve it again."""
        ok, output = self.install(text, keep_backup=previous is not None, test=True)
        failpoints.reach("nginx.installed")
        if not ok and _UNRESOLVED in output:
            ok, output = self._test_again()
        if not ok:
            self._put_back(previous, reload=False)
            raise DeployFailed("nginx.test_failed", error=_last_line(output))
        try:
            return self.reload()
        except DeployFailed:
            self._put_back(previous, reload=True)
            raise

    def test(self) -> tuple[bool, str]:
        """`nginx -t` of what is on disk now: (ok, its output); a name Docker's DNS missed is tested again."""
        code, out = self.docker.exec(self.container, ["nginx", "-t"])
        if code != 0 and _UNRESOLVED in out:
            return self._test_again()
        return code == 0, out.strip()

    def _test_again(self) -> tuple[bool, str]:
        """`nginx -t` again, every 0.5 s for up to `_DNS_RETRY` seconds, while it fails only on a name it could not resolve.

        nginx resolves every `server` name when it tests (and reloads) a file, through Docker's embedded DNS. Under
        load that DNS has been seen to not answer for a running container (CI, 2 cores at load 8: "host not found
        in upstream" for the active color); one such miss would fail the deploy. A name that does not exist keeps
        failing and the deploy fails at the bound, as before."""
        deadline = self.clock.deadline(_DNS_RETRY)
        while True:
            deadline.pause(0.5)
            code, out = self.docker.exec(self.container, ["nginx", "-t"])
            if code == 0 or _UNRESOLVED not in out or deadline.expired:
                return code == 0, out.strip()

    def _put_back(self, previous: str | None, *, reload: bool) -> None:
        if previous is None:
            self.docker.exec(self.container, ["rm", "-f", self.path])
        else:
            self.install(previous)
        if reload:
            try:
                self.reload()
            except DeployFailed:
                pass  # the master kept serving the config it had; nothing more to undo


# One exec: [backup], write the temporary file from stdin, rename it over the target, [test].
# Exit 97 tells a failed write or rename from a failed `nginx -t`.
_BACKUP = 'if [ -f "$2" ]; then cp -f "$2" "$2.backup" || exit 97; fi; '
_SWAP = 'cat > "$1" && mv -f "$1" "$2" || exit 97'
_TEST = '; exec nginx -t'
_SWAP_FAILED = 97
_UNRESOLVED = "host not found in upstream"
# `nginx -V` (its answer on stderr, sent to stdout here), a mark, then `nginx -T` (the dump on stdout, the verdict on
# stderr): one round trip.
_CHECK_MARK = "# bluegreen: nginx -T follows"
_CHECK = f'nginx -V 2>&1; echo "{_CHECK_MARK}"; exec nginx -T'
_LOGGED = re.compile(r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d (\[\w+\]) \d+#\d+: ")
_LINKS = 'for p in "$@"; do readlink -- "$p" || echo; done'  # one line per path, empty when it is not a link
_DNS_RETRY = 3.0  # seconds of `nginx -t` retries for a name Docker's DNS did not answer


def _master(processes: list[Process]) -> int | None:
    for p in processes:
        if p.args.startswith(MASTER) and p.pid.isdigit():
            return int(p.pid)
    return None


def _last_line(output: str) -> str:
    lines = [line for line in output.strip().splitlines() if line.strip()]
    emerg = [line for line in lines if "[emerg]" in line or "[error]" in line]
    return (emerg or lines or ["(no output)"])[-1][:300]


last_line = _last_line  # nginx_files.py says nginx's errors the same way
