"""Editing a team's nginx files as text, for `bluegreen init`: cut the upstream block out of the site (or leave an
`include` of bluegreen's file in its place), point `proxy_pass` at the variable of `switch: shared-dict`, add the
njs `load_module` line. Standard library only.

Each edit replaces exactly the characters of the directive it changes (its offsets from nginx_config.py), and a
block alone on its lines takes its lines with it; every other directive, comment and blank line stays byte for
byte (tests/unit/test_site_edit.py generates files to show it).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Iterable, Sequence

from bluegreen.parts.nginx_config import Directive, tokens


@dataclass(frozen=True)
class Edit:
    start: int  # offsets in the file's text; start == end inserts
    end: int
    text: str


class CannotEdit(ValueError):
    """The file says something an edit would change the meaning of (a `proxy_pass` with a URI part)."""


def apply(text: str, edits: Iterable[Edit]) -> str:
    """The text with every edit made (edits do not overlap; each one's offsets are in the original text)."""
    for edit in sorted(edits, key=lambda e: (e.start, e.end), reverse=True):
        text = text[:edit.start] + edit.text + text[edit.end:]
    return text


def cut(text: str, block: Directive, replacement: str | None = None) -> Edit:
    """Remove `block` (an `upstream { … }`); with `replacement` (an `include …;` line) put that in its place, at
    its indentation. A block alone on its lines goes with its lines; one sharing a line with something else goes
    alone, the rest of the line stays."""
    begin = text.rfind("\n", 0, block.start) + 1
    after = text.find("\n", block.end)
    finish = len(text) if after < 0 else after + 1
    if text[begin:block.start].strip() or text[block.end:finish].strip():
        return Edit(block.start, block.end, replacement or "")
    indent = text[begin:block.start]
    return Edit(begin, finish, f"{indent}{replacement}\n" if replacement else "")


def proxy_to_variable(text: str, directive: Directive, upstream: str) -> Edit:
    """`proxy_pass http://<upstream>;` → `proxy_pass http://$<upstream>;` (the map of `switch: shared-dict`
    defines the variable). A URI after the name is refused: with a variable, nginx passes that URI instead of the
    request's (`proxy_pass http://$up/api/` sends every request to /api/)."""
    words = list(tokens(text[directive.start:directive.end]))
    for word in words[1:]:
        found = re.fullmatch(rf"(https?://){re.escape(upstream)}(.*)", word.word, re.S)
        if not found:
            continue
        if found.group(2):
            raise CannotEdit(f"{directive.where}: proxy_pass {word.word}")
        new = f"{found.group(1)}${upstream}"
        quote = text[directive.start + word.start] if word.quoted else ""
        return Edit(directive.start + word.start, directive.start + word.end, f"{quote}{new}{quote}")
    raise CannotEdit(f"{directive.where}: proxy_pass does not name {upstream}")


def load_module(text: str, main: Sequence[Directive], module: str, note: str) -> Edit:
    """`load_module <module>;` in the main file's main context, before its first block (nginx refuses a
    `load_module` after `events {}`): on a line of its own after the last simple directive that precedes the
    first block, or just before that block."""
    line = f"load_module {module};  # {note}\n"
    first_block = next((i for i, d in enumerate(main) if d.children is not None), len(main))
    simple = main[:first_block]
    if simple:
        after = text.find("\n", simple[-1].end)
        at = len(text) if after < 0 else after + 1
        return Edit(at, at, line if after >= 0 else "\n" + line)
    if first_block < len(main):
        at = text.rfind("\n", 0, main[first_block].start) + 1
        return Edit(at, at, line)
    return Edit(len(text), len(text), ("" if not text or text.endswith("\n") else "\n") + line)


def diff(path: str, old: str | None, new: str | None) -> list[str]:
    """A unified diff of one file (no trailing newlines on the lines): `/dev/null` stands for a file that does not
    exist before or after."""
    name = path.lstrip("/")
    return list(difflib.unified_diff((old or "").splitlines(), (new or "").splitlines(),
                                     "/dev/null" if old is None else f"a/{name}", "/dev/null" if new is None else f"b/{name}",
                                     lineterm="", n=3))
