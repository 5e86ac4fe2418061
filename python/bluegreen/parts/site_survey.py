"""What `bluegreen init` reads of a team's running site, and how it changes nginx's files (nginx_files.py): the
nginx container (found when no one names it), what nginx reads (`nginx -T`) and when it last loaded it, the
colors' containers, the variables an image sets itself. Plain values out (nginx_config's Dump, ContainerFacts):
the runbook (operations/init.py) decides.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from bluegreen.clock import REAL, Clock
from bluegreen.errors import Unreachable
from bluegreen.parts import nginx_files
from bluegreen.parts.engine import ContainerFacts, Docker
from bluegreen.parts.host_nginx import MASTER
from bluegreen.parts.nginx import Generation, NginxControl
from bluegreen.parts.nginx_config import Dump
from bluegreen.parts.nginx_files import FileChange
from bluegreen.config.settings import Nginx

__all__ = ["ContainerFacts", "FileChange", "NginxReading", "SiteSurvey", "NJS"]
PUBLIC_PORTS = ("80/tcp", "443/tcp")
NJS = "ngx_http_js_module.so"


@dataclass(frozen=True)
class NginxReading:
    facts: ContainerFacts
    dump: Dump  # every file nginx reads, as on disk now, with modification times
    loaded_at: float | None  # when nginx last loaded its configuration (its current workers' start), epoch seconds
    master: int | None  # its master process on this host
    modules_path: str  # where `load_module` finds dynamic modules
    has_njs: bool  # the njs module is there (loaded or not)

    @property
    def signal_reaches_master(self) -> bool:
        """nginx's master is the container's main process: SIGHUP to the container reloads it (`reload: signal`)."""
        return self.master is not None and self.master == self.facts.pid


class SiteSurvey:
    def __init__(self, docker: Docker, clock: Clock = REAL) -> None:
        self.docker, self.clock = docker, clock

    def facts(self, name: str) -> ContainerFacts | None:
        return self.docker.facts(name)

    def nginx_candidates(self) -> list[str]:
        """Running containers that publish port 80 or 443 and run an nginx master: the site's entry."""
        found = []
        for name in self.docker.names():
            facts = self.docker.facts(name)
            if facts is None or not facts.running or not any(p in PUBLIC_PORTS for p, _, _ in facts.published):
                continue
            try:
                if any(p.args.startswith(MASTER) for p in self.docker.processes(name)):
                    found.append(name)
            except Unreachable:
                continue  # stopped since it was listed
        return found

    def nginx(self, name: str) -> NginxReading:
        """What the nginx container `name` reads and serves; Unreachable (exit 6) when it does not run."""
        facts = self.docker.facts(name)
        if facts is None or not facts.running:
            raise Unreachable("nginx.not_running", name=name)
        control = self._control(Nginx(container=name))
        dump = control.dump()
        modules = nginx_files.modules_path(control)
        return NginxReading(facts, dump, control.generation().started, control.master(), modules,
                            nginx_files.exists(control, f"{modules}/{NJS}"))

    def read_file(self, container: str, path: str) -> str | None:
        """A file in the container as nginx would read it (a link followed); None when there is none."""
        return self.docker.read_file(container, path).text

    def image_env_names(self, image: str) -> tuple[str, ...]:
        return self.docker.image_env_names(image)

    def serve(self, settings: Nginx, changes: Sequence[FileChange]) -> tuple[Generation, tuple[str, ...]]:
        """Write the files, one `nginx -t`, one reload confirmed; on failure every file back (nginx_files.py)."""
        return nginx_files.serve_files(self._control(settings), changes)

    def _control(self, settings: Nginx) -> NginxControl:
        # No file of its own: init changes several at once (nginx_files.py).
        return NginxControl(self.docker, settings, "-", self.clock)
