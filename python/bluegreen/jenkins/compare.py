"""Read what the server has and compare it with what is wanted: the plan that `plan`, `check` and `sync` share.

No local cache: every run reads the server, so edits made in the UI are seen, and a machine that never ran
the tool before still writes nothing when Jenkins already matches. Reads per run: the crumb (password logins
only), one folder listing (names, types, descriptions), the credentials listing (two requests: python-jenkins
checks the folder first) and one `config.xml` per job and per credential — about one request per item.

Before anything is compared, each declared name is checked on the server:
- an item of another type there (a freestyle job, a folder, an SSH-key credential) → CONFLICT naming both types:
  Jenkins would answer the write with a 500 that blames the XML, and replacing it would destroy someone's item;
- an item of the right type that this declaration does not own (ownership.py) → CONFLICT, unless the operator
  adopts it (`--adopt NAME`): another declaration's, a hand-made one, or one from before declarations had ids.
Undeclared items are candidates for deletion only when they carry this declaration's marker for their own kind
and name; folders never are.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Collection, Sequence

from bluegreen.jenkins import canonical, ownership, semantic
from bluegreen.jenkins.client import Client, Listed
from bluegreen.jenkins.desired import WORKFLOW_JOB, Wanted

CREATE, UPDATE, DELETE, ORPHAN, KEEP, CONFLICT = "create", "update", "delete", "orphan", "keep", "conflict"


@dataclass(frozen=True)
class Change:
    action: str  # create | update | delete (ours, undeclared, --prune) | orphan (same, no --prune) | keep | conflict
    kind: str  # folder | job | credential
    name: str
    before: str = field(default="", repr=False)  # canonical, as on the server, what we own (secrets redacted)
    after: str = field(default="", repr=False)  # canonical, as declared (secrets redacted)
    body: Callable[[], str] | None = field(default=None, repr=False)  # what a write sends
    reason: str = ""  # a conflict's message key
    found: str = ""  # a conflict's server type
    wanted: str = ""  # a conflict's declared type

    def diff(self) -> list[str]:
        return canonical.diff(self.before, self.after, name=f"{self.kind} {self.name}")


@dataclass(frozen=True)
class Plan:
    folder: str
    changes: tuple[Change, ...]

    @property
    def pending(self) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.action not in (KEEP, CONFLICT))

    @property
    def conflicts(self) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.action == CONFLICT)

    def count(self, action: str) -> int:
        return sum(1 for c in self.changes if c.action == action)


@dataclass(frozen=True)
class Scope:
    """Who we are in this run: the declaration's id and folder, and the names the operator adopts."""

    declaration: str
    folder: str
    adopt: Collection[str] = ()


def make_plan(client: Client, scope: Scope, wanted: Sequence[Wanted], *, prune: bool) -> Plan:
    listing = client.folder_items(scope.folder)
    if listing is None:
        creates = [Change(CREATE, "folder", name) for name in _missing_folders(client, scope.folder)]
        creates += [_create(w) for w in wanted]
        return Plan(scope.folder, tuple(creates))
    changes = [_job(client, scope, w, listing.get(w.short)) if w.kind == "job" else _credential(client, scope, w)
               for w in wanted]
    changes += _undeclared(client, scope, listing, wanted, prune=prune)
    return Plan(scope.folder, tuple(changes))


def _job(client: Client, scope: Scope, w: Wanted, listed: Listed | None) -> Change:
    if listed is None:
        return _create(w)
    if listed.cls != WORKFLOW_JOB:
        return Change(CONFLICT, w.kind, w.name, reason="jenkins.conflict.type", found=listed.cls, wanted=WORKFLOW_JOB)
    return _compare(scope, w, client.job_config(w.name))


def _credential(client: Client, scope: Scope, w: Wanted) -> Change:
    server = client.credential_config(scope.folder, w.name)
    if server is not None:
        found = canonical.parse(server, what=w.name).tag
        if found != w.type_name():
            return Change(CONFLICT, w.kind, w.name, reason="jenkins.conflict.type", found=found, wanted=w.type_name())
    return _compare(scope, w, server)


def _compare(scope: Scope, w: Wanted, server: str | None) -> Change:
    if server is None:
        return _create(w)
    theirs = canonical.parse(server, what=w.name)
    description = theirs.findtext("description")
    mark_name = w.name if w.kind == "job" else f"{scope.folder}/{w.name}"
    ours = ownership.owned_by(description, declaration=scope.declaration, kind=w.kind, name=mark_name)
    if not ours and not _adopted(scope, w):
        reason = "jenkins.conflict.legacy" if ownership.is_legacy(description) else "jenkins.conflict.not_ours"
        other = ownership.read(description)
        found = other.declaration if other is not None and other.declaration != scope.declaration else ""
        return Change(CONFLICT, w.kind, w.name, reason=reason, found=found)
    before, after = semantic.views(w.root(), theirs, w.rules())
    action = KEEP if before == after else UPDATE
    return Change(action, w.kind, w.name, before, after, lambda: w.body(server))


def _create(w: Wanted) -> Change:
    mine = w.root()
    if canonical.is_credential(mine):
        canonical.redact(mine)
    return Change(CREATE, w.kind, w.name, "", canonical.text(mine), lambda: w.body(None))


def _adopted(scope: Scope, w: Wanted) -> bool:
    return w.name in scope.adopt or w.short in scope.adopt


def _undeclared(client: Client, scope: Scope, listing: dict[str, Listed], wanted: Sequence[Wanted], *,
                prune: bool) -> list[Change]:
    """Our items no longer declared: this declaration's marker for the item's own kind and name, never a folder."""
    action = DELETE if prune else ORPHAN
    declared = {(w.kind, w.short) for w in wanted}
    changes = [Change(action, "job", f"{scope.folder}/{name}")
               for name, item in sorted(listing.items())
               if ("job", name) not in declared and item.cls == WORKFLOW_JOB
               and ownership.owned_by(item.description, declaration=scope.declaration, kind="job",
                                      name=f"{scope.folder}/{name}")]
    for cred_id in sorted(set(client.credential_ids(scope.folder)) - {n for k, n in declared if k == "credential"}):
        xml = client.credential_config(scope.folder, cred_id)
        if xml is not None and ownership.owned_by(canonical.parse(xml, what=cred_id).findtext("description"),
                                                  declaration=scope.declaration, kind="credential",
                                                  name=f"{scope.folder}/{cred_id}"):
            changes.append(Change(action, "credential", cred_id))
    return changes


def _missing_folders(client: Client, folder: str) -> list[str]:
    """The folder and those of its parents that do not exist yet, outermost first."""
    parts = folder.split("/")
    missing = [folder]
    for depth in range(len(parts) - 1, 0, -1):
        parent = "/".join(parts[:depth])
        if client.folder_items(parent) is not None:  # raises when it exists but is not a folder
            break
        missing.insert(0, parent)
    return missing
