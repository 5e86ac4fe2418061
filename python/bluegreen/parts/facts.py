"""What the checks judge, gathered once (parts/system.py) or written by hand in a test: plain frozen values.

A check never reads the system itself: one `nginx -V` + `nginx -T`, one inspect per container, one engine info and
a few `stat`s feed all of them, so each check is a small pure function of these facts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Mapping

from bluegreen.parts.nginx_config import Dump
from bluegreen.config.settings import Nginx, Service

if TYPE_CHECKING:  # the docker SDK is not imported for a type
    from bluegreen.parts.engine import ContainerFacts, EngineFacts

OK, WARN, FAIL = "ok", "warn", "fail"


@dataclass(frozen=True)
class Finding:
    """One check's verdict: its id (the JSON key), a level, one line and, unless ok, one concrete fix."""

    id: str
    level: str  # OK | WARN | FAIL
    key: str  # message id of the line
    params: Mapping[str, str] = field(default_factory=dict)
    fix: str | None = None  # message id of the fix (never None unless ok)
    fix_params: Mapping[str, str] = field(default_factory=dict)
    refuses: bool = False  # a deploy refuses to start on it (exit 3, nothing changed)


@dataclass(frozen=True)
class NginxFacts:
    container: str
    version: str = ""  # "1.22.1"; "" when not known
    configure: str = ""  # `nginx -V`'s configure arguments
    dump: Dump | None = None  # the configuration nginx would load now; None when `nginx -T` fails
    error: str = ""  # nginx's error line when `nginx -T` fails
    links: Mapping[str, str] = field(default_factory=dict)  # an access_log path → where it leads (links followed)
    sees_master: bool | None = None  # the rollback's quick path can see nginx from here (None: not looked)

    @property
    def numbers(self) -> tuple[int, ...]:
        """(1, 22, 1); () when the version is not known."""
        return tuple(int(p) for p in self.version.split(".") if p.isdigit())


@dataclass(frozen=True)
class PathFacts:
    """A directory on this host, as lstat and statvfs see it (never created, never followed)."""

    path: str
    exists: bool = True
    kind: str = "directory"  # "directory", "symbolic link", "file"…
    uid: int = 0
    mode: int = 0o700  # permission bits
    free: int | None = None  # bytes available to this user on its filesystem (of the nearest existing parent)
    tmpfs: bool = False  # on a filesystem emptied at boot (/run)


@dataclass(frozen=True)
class Facts:
    service: Service
    nginx_settings: Nginx
    nginx: NginxFacts
    engine: "EngineFacts"
    nginx_container: "ContainerFacts | None"
    colors: Mapping[str, tuple["ContainerFacts", ...]]  # color → its containers that exist
    state_dir: PathFacts
    declared_state_dir: str  # as bluegreen.yml writes it (relative or not)
    user: int  # the user id bluegreen runs as
    python: tuple[int, int, int]
    admin_dir: PathFacts | None = None  # switch: shared-dict
    named: Mapping[str, "ContainerFacts"] = field(default_factory=dict)  # containers nginx resolves at load, by name
    quick: str | None = None  # status's served.quick_rollback ("ready" or why not); None: no state to judge
    complete: bool = True  # False: the deploy's cheap subset (no names, links, quick path)
    user_name: str = ""  # the user's name, for the fixes (`chown jenkins …`); "" when it has none

    @property
    def owner(self) -> str:
        """Who a `chown` in a fix names: the user's name, else its id."""
        return self.user_name or str(self.user)
