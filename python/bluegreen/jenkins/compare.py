"""Read what the server has and compare it with what is wanted: the plan that `plan`, `check` and `sync` share.

No local cache: every run reads the server, so edits made in the UI are seen, and a machine that never ran
the tool before still writes nothing when Jenkins already matches. Reads per run: the crumb, one folder
listing, the credentials listing (two requests: python-jenkins checks the folder first) and one `config.xml`
per job and per credential — about one request per item, within the budget of two.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

from bluegreen.jenkins import canonical
from bluegreen.jenkins.client import Client
from bluegreen.jenkins.desired import Wanted
from bluegreen.jenkins.render import is_managed

CREATE, UPDATE, DELETE, ORPHAN, KEEP = "create", "update", "delete", "orphan", "keep"


@dataclass(frozen=True)
class Change:
    action: str  # create | update | delete (managed, undeclared, --prune) | orphan (same, no --prune) | keep
    kind: str  # folder | job | credential
    name: str
    before: str = field(default="", repr=False)  # canonical, as on the server (secrets redacted)
    after: str = field(default="", repr=False)  # canonical, as declared (secrets redacted)
    body: Callable[[], str] | None = field(default=None, repr=False)  # what a write sends

    def diff(self) -> list[str]:
        return canonical.diff(self.before, self.after, name=f"{self.kind} {self.name}")


@dataclass(frozen=True)
class Plan:
    folder: str
    changes: tuple[Change, ...]

    @property
    def pending(self) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.action != KEEP)

    def count(self, action: str) -> int:
        return sum(1 for c in self.changes if c.action == action)


def make_plan(client: Client, folder: str, wanted: Sequence[Wanted], *, prune: bool) -> Plan:
    listing = client.folder_items(folder)
    if listing is None:
        creates = [Change(CREATE, "folder", name) for name in _missing_folders(client, folder)]
        creates += [_compare(w, None) for w in wanted]
        return Plan(folder, tuple(creates))
    changes = [_compare(w, _server_xml(client, folder, w)) for w in wanted]
    changes += _undeclared(client, folder, listing, wanted, prune=prune)
    return Plan(folder, tuple(changes))


def _server_xml(client: Client, folder: str, w: Wanted) -> str | None:
    if w.kind == "job":
        return client.job_config(w.name)
    return client.credential_config(folder, w.name)


def _compare(w: Wanted, server: str | None) -> Change:
    after = w.canonical()
    if server is None:
        return Change(CREATE, w.kind, w.name, "", after, lambda: w.body(None))
    before = canonical.canonical(server, what=w.name)
    action = KEEP if before == after else UPDATE
    return Change(action, w.kind, w.name, before, after, lambda: w.body(server))


def _undeclared(client: Client, folder: str, listing: dict[str, str], wanted: Sequence[Wanted], *,
                prune: bool) -> list[Change]:
    """Managed items no longer declared. Only the marker makes an item ours: anything else is left alone."""
    action = DELETE if prune else ORPHAN
    declared = {w.name for w in wanted}
    changes = [Change(action, "job", f"{folder}/{name}", _job(client, folder, name))
               for name, description in sorted(listing.items())
               if f"{folder}/{name}" not in declared and is_managed(description)]
    for cred_id in sorted(set(client.credential_ids(folder)) - declared):
        xml = client.credential_config(folder, cred_id)
        if xml is not None and is_managed(canonical.parse(xml, what=cred_id).findtext("description")):
            changes.append(Change(action, "credential", cred_id, canonical.canonical(xml, what=cred_id)))
    return changes


def _job(client: Client, folder: str, name: str) -> str:
    xml = client.job_config(f"{folder}/{name}")
    return canonical.canonical(xml, what=name) if xml else ""


def _missing_folders(client: Client, folder: str) -> list[str]:
    """The folder and those of its parents that do not exist yet, outermost first."""
    parts = folder.split("/")
    missing = [folder]
    for depth in range(len(parts) - 1, 0, -1):
        parent = "/".join(parts[:depth])
        if client.item_exists(parent):
            break
        missing.insert(0, parent)
    return missing
