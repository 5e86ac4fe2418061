"""`switch: shared-dict`: the color nginx serves lives in an njs shared dictionary and moves with one request on
an admin socket — no reload, so no keep-alive connection is closed and the switch is synchronous (the next
request goes to the new color). Both colors' upstream blocks stay defined as in the guide; the upstream file's
js_var names the served color too, so an nginx restart (which empties the dictionary) comes up on it.

What nginx serves is read from nginx itself (GET on the socket: the color, and whether it came from the
dictionary or the file). The file on disk still follows the reload switch's evidence (switch.py): a reload is
needed when the set of containers named changes (a deploy's make-room and its new candidate), never for a
color switch or a rollback.

Set-up is the first switch: the njs module and the file are written, `nginx -t` gates them, a reload opens the
socket. Until then (the guide's plain file) bluegreen reads the file as the reload switch does.

Who may speak on the socket: bluegreen, with its key (admin_key.py), in a directory that is its own (admin_dir.py).
An operation first makes the directory its own and the key (`secure`); a file whose key is not the current one (a
new key, or a file written before keys) has another shape, so the next switch installs it with a reload. `status`
changes nothing: it names what is wrong, and where nginx refuses the key it reads the color from the loaded file.
"""

from __future__ import annotations

from pathlib import Path

from bluegreen import failpoints
from bluegreen.errors import DeployFailed, Inconsistent, Unreachable
from bluegreen.parts import admin_dir, admin_key, quick_ticket
from bluegreen.parts.admin_socket import AdminRefused, AdminUnreachable, call
from bluegreen.parts.dict_file import file_color, key_digest, new_generation, recolor, shape
from bluegreen.parts.nginx import Generation, NginxControl
from bluegreen.parts.render import render_module, render_shared_dict
from bluegreen.parts.state import ServiceState
from bluegreen.parts.switch import UNKNOWN, Hosts, Record, ReloadSwitch, Served, loaded_file
from bluegreen.parts.upstream import UpstreamView, parse_upstream
from bluegreen.config.settings import COLORS, Nginx, Service

MODULE_DIR = "/etc/nginx/bluegreen"
__all__ = ["SharedDictSwitch", "file_color"]


class Unguarded(Unreachable):
    """nginx's admin socket answers, but not to bluegreen (its key refused), or bluegreen will not send its key there
    (admin_dir.unfit): the loaded file is all that is known of the color."""


class SharedDictSwitch(ReloadSwitch):
    """The reload switch's file handling (the file still decides after a restart, and names the containers), plus
    the dictionary for the color."""

    mode = "shared-dict"

    def __init__(self, control: NginxControl, service: Service, nginx: Nginx, hosts: Hosts | None = None,
                 config_digest: str | None = None, *, key_file: Path) -> None:
        super().__init__(control, service, hosts)
        self.nginx, self.config_digest, self.key_file = nginx, config_digest, key_file
        self.socket = f"{nginx.admin_dir}/{service.upstream}.sock"
        self.module = f"{MODULE_DIR}/{service.upstream}.js"
        self._key: str | None = None

    def secure(self) -> list[tuple[str, dict[str, str]]]:
        """Before an operation speaks on the socket: the admin directory made bluegreen's alone (created, or set back
        to 0700), the key made; what was repaired, to say. Inconsistent (exit 3, nothing changed) for a directory
        bluegreen cannot make its own, or a socket there that is not nginx's."""
        said = []
        repaired = admin_dir.secure(self.nginx.admin_dir)
        if repaired is not None:
            said.append((repaired.action_key, repaired.params))
        unfit = admin_dir.unfit(self.socket)
        if unfit:
            raise Inconsistent(unfit[0], **unfit[1])
        self._key, new = admin_key.ensure(self.key_file)
        if new:
            said.append(("repair.admin_key_new", {"path": str(self.key_file)}))
        return said

    def key(self) -> str | None:
        if self._key is None:
            self._key = admin_key.read(self.key_file)
        return self._key

    def _call(self, method: str, body: str | None = None) -> dict:
        unfit = admin_dir.unfit(self.socket)
        if unfit:
            raise Unguarded(unfit[0], **unfit[1])
        try:
            return call(self.socket, method, body, key=self.key())
        except AdminRefused:
            raise Unguarded("status.problem.admin_refused", socket=self.socket, path=str(self.key_file)) from None

    def running(self) -> bool:
        """nginx answers on its admin socket (one request instead of a Docker inspect), or its container runs
        (before the first switch set the socket up)."""
        try:
            self._answer = self.ask()
            return True
        except Unreachable:
            return self.control.running()

    # --- what nginx serves -------------------------------------------------------------------------------------
    _answer: dict | None = None  # running()'s answer, reused by the look that follows it
    _generation: Generation | None = None  # the last look's worker generation (a color switch keeps it)
    _seen: dict | None = None  # the last look's answer on the socket

    def ask(self) -> dict:
        """The admin socket's answer: {"color", "source": "dict"|"file", "file_color", "workers", "disk"}."""
        try:
            answer = self._call("GET")
        except AdminUnreachable as exc:
            raise Unreachable("switch.admin_unreachable", socket=self.socket, error=str(exc)) from None
        if answer.get("color") not in COLORS:
            raise Unreachable("switch.admin_unreachable", socket=self.socket, error=f"answered {answer!r:.80}")
        return answer

    def look(self, record: Record) -> Served:
        file = self.control.read()
        generation = self.control.generation()
        loaded, how, since = loaded_file(record, file.text, file.mtime, generation)
        basis = loaded if how != UNKNOWN else file.text
        if file_color(basis) is None:  # not set up yet (the guide's plain upstream): read it as the file says
            return Served(file.text, loaded, how, since, generation, parse_upstream(basis, self.service.upstream),
                          self.container)
        problems = self._admin_problems()
        try:
            answer, self._answer = self._answer or self.ask(), None
        except Unguarded as exc:
            self._generation, self._seen = generation, None
            problems.append((exc.key, {k: str(v) for k, v in exc.params.items()}, exc.key.endswith("refused")))
            return Served(file.text, loaded, how, since, generation, self.view_of(basis), self.container,
                          problems=tuple(problems))
        self._generation, self._seen = generation, answer
        color, served = answer["color"], loaded
        if loaded is not None and file_color(loaded) != color:
            # The dictionary serves another color than the loaded file names: bluegreen's own switch, killed
            # before its file or its record was written (then it serves the pending text), or someone's PUT on the
            # socket: what is served is the file with that color.
            pending = record.pending
            if pending is not None and file_color(pending) == color and shape(pending) == shape(loaded):
                served = pending
            else:
                served = file.text if file_color(file.text) == color else recolor(loaded, color)
        view = parse_upstream(basis, f"{self.service.upstream}_{color}")
        if key_digest(basis) is None:  # nginx admitted a request: a file of before keys guards nothing
            problems.append(("status.problem.admin_unguarded", {"socket": self.socket}, True))
        return Served(file.text, served, how, since, generation, view, self.container, answer.get("source"), loaded,
                      tuple(problems))

    def _admin_problems(self) -> list[tuple[str, dict[str, str], bool]]:
        """The admin directory as `status` must name it (an operation made it bluegreen's first)."""
        loose = admin_dir.judge(self.nginx.admin_dir)
        return [] if loose is None else [(loose.problem_key, loose.params, loose.repairable)]

    def view_of(self, text: str | None) -> UpstreamView:
        color = file_color(text)
        return parse_upstream(text, f"{self.service.upstream}_{color}" if color else self.service.upstream)

    # --- switching ---------------------------------------------------------------------------------------------
    def render(self, *, primary: str, backup: str | None, preview: str | None = None) -> str:
        hosts = self.hosts
        return render_shared_dict(self.service, primary=primary, backup=backup, generation=new_generation(),
                                  preview=preview, admin_socket=self.socket, module=self.module,
                                  key_digest=admin_key.digest(self.key()),
                                  keepalive_min_timeout=self.nginx.keepalive_min_timeout,
                                  servers=hosts.servers if hosts else None, resolver=hosts.resolver if hosts else None,
                                  segments=self.control.segments() if preview else ())

    def setup_files(self) -> dict[str, str]:
        """The njs module the file imports (written beside it by the first switch, or by `bluegreen init`)."""
        return {self.module: render_module(self.service)}

    def apply(self, text: str, previous: str | None) -> Generation:
        """Serve `text`. A new shape (containers named, preview, first set-up): the file is installed with
        `nginx -t` and a reload, then the color is set on the socket. A color alone: set on the socket first (traffic
        moves with that one request), then written into the file for the next restart. On failure `previous`
        serves again, file and color."""
        color = file_color(text)
        if shape(text) != shape(previous) or file_color(previous) is None:
            self.control.install_module(self.module, self.setup_files()[self.module])
            generation = self.control.apply(text, previous)
            self._set_color(color, previous, reloaded=True)
            return generation
        self._set_color(color, previous, reloaded=False)
        failpoints.reach("switch.color_set")
        return self.settle(text, previous)

    def settle(self, text: str, previous: str | None) -> Generation:
        """The color of `text` serves already (set on the socket: by apply, or by the rollback's quick path):
        write the file too, so that an nginx restart comes up on it. On failure `previous` serves again."""
        try:
            self.control.install(text, keep_backup=True)
        except DeployFailed:
            self._put_back(previous, reloaded=False)
            raise
        failpoints.reach("nginx.installed")
        return self._generation or self.control.generation()

    def quick_readiness(self, state: ServiceState) -> str:
        """`ready` when the next rollback may take the quick path, from the last look's answer; else why not
        (parts/quick_ticket.py)."""
        return quick_ticket.why_not(state, self._seen, self.config_digest) or "ready"

    def ticket(self, text: str) -> dict | None:
        """What the next rollback's quick path needs to switch away from `text` (parts/quick_ticket.py). None where
        it does not apply: replicas and Swarm tasks are checked one by one by the runtime."""
        scale = self.service.scale
        if scale.replicas != 1 or scale.runtime != "containers" or not self.config_digest:
            return None
        try:
            answer = self.ask()
        except Unreachable:
            return None
        # nginx's own bounds on the probe (connect 1 s, read request_timeout) and a margin: nginx answers first
        return quick_ticket.make(text, answer, config_digest=self.config_digest, socket=self.socket,
                                 probe_timeout=self.service.health.request_timeout + 1.5)

    def _set_color(self, color: str | None, previous: str | None, *, reloaded: bool) -> None:
        try:
            answer = self._call("PUT", color)
            if answer.get("color") != color:
                raise AdminUnreachable(f"it serves {answer.get('color')!r} after the switch")
        except (AdminUnreachable, Unguarded) as exc:
            self._put_back(previous, reloaded=reloaded)
            raise DeployFailed("switch.admin_failed", socket=self.socket, error=str(exc)) from None

    def _put_back(self, previous: str | None, *, reloaded: bool) -> None:
        """The previous file (and its color) serve again; best effort: the switch failed already."""
        if previous is None:
            return
        if reloaded:
            self.control.install(previous)
            try:
                self.control.reload()
            except DeployFailed:
                pass
        else:
            self.control.install(previous)
        color = file_color(previous)
        if color:
            try:
                self._call("PUT", color)
            except (AdminUnreachable, Unguarded):
                pass
