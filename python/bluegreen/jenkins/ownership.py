"""Which items a declaration owns: an exact marker, the last line of the item's description.

    [managed by bluegreen: declaration maice, job team/maice/deploy-backend]
    [managed by bluegreen: declaration maice, credential team/maice/maice-database-url, fp=0123456789abcdef]

An item is ours when that line parses and names *this* declaration's id and the item's own kind and full name
(a credential's is its folder and id). So:
- two declarations sharing a folder never touch each other's items (their ids differ);
- a hand-written description that merely mentions bluegreen does not match (the whole line must parse);
- a copy of a managed item ("Copy from" in the UI copies the description) names the original, not itself;
- folders carry no marker: they are created when missing and never deleted (deleting one deletes all it holds).
The leading words tell a reader in the Jenkins UI that edits there will be reverted.

Items marked by bluegreen before declarations had ids carry the bare `[managed by bluegreen]` ("legacy"): they
are nobody's until adopted (`sync --adopt NAME`), since that text proves nothing about which file made them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

LEGACY_MARKER = "[managed by bluegreen]"
_MARK = re.compile(r"\[managed by bluegreen: declaration (?P<declaration>[A-Za-z0-9][A-Za-z0-9_.-]*), "
                   r"(?P<kind>job|credential) (?P<name>[A-Za-z0-9][A-Za-z0-9_./-]*)(?:, fp=(?P<fp>[0-9a-f]{16}))?\]")


@dataclass(frozen=True)
class Mark:
    declaration: str
    kind: str  # "job" | "credential"
    name: str  # a job's full name; a credential's folder/id
    fingerprint: str | None = None

    def line(self) -> str:
        fp = f", fp={self.fingerprint}" if self.fingerprint else ""
        return f"[managed by bluegreen: declaration {self.declaration}, {self.kind} {self.name}{fp}]"


def describe(text: str, mark: Mark) -> str:
    """The description Jenkins keeps: the declared text, then the marker on a line of its own."""
    return f"{text}\n{mark.line()}" if text else mark.line()


def read(description: str | None) -> Mark | None:
    """The marker on the description's last line, or None (no marker, or not exactly one)."""
    last = (description or "").rstrip("\n").rpartition("\n")[2]
    match = _MARK.fullmatch(last.strip())
    if match is None:
        return None
    return Mark(match["declaration"], match["kind"], match["name"], match["fp"])


def owned_by(description: str | None, *, declaration: str, kind: str, name: str) -> bool:
    mark = read(description)
    return mark is not None and (mark.declaration, mark.kind, mark.name) == (declaration, kind, name)


def is_legacy(description: str | None) -> bool:
    return read(description) is None and LEGACY_MARKER in (description or "")
