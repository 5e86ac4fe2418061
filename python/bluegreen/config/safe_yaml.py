"""YAML for files people write by hand and tools read unattended: bounded, strict, one clear line on failure.

PyYAML's `safe_load` stops code execution but not the rest:
- **Aliases** expand without limit: a ~400-byte "billion laughs" file becomes millions of nodes once a caller
  walks it. Hand-written config never needs them, so any alias (and with it the `<<` merge key) is refused.
- **Duplicate keys** silently keep the last value, so `password_from_env:` written twice hides the first.
- **Depth**: the composer recurses per nesting level; `[[[[…` a few thousand deep ends in a RecursionError.
- **Size**: PyYAML is pure Python here, a few seconds per 20,000 nodes on a busy CI machine: the file is capped
  in bytes and in nodes (a 1 MiB flow list took 20 s measured here), so an unattended run can't be stalled.
- Its messages span lines and quote the input; ours are one line, with the position.

Every failure is a UsageError (exit 2) whose key starts with `yaml.` and whose `source` names the file.
Independent of the rest of the package except errors, messages and files.py (the one bounded reader), so any
loader can use it.
"""

from __future__ import annotations

import os
from typing import Any

import yaml

from bluegreen.errors import UsageError
from bluegreen.config.file import MAX_BYTES, printable as _printable, refusal
from bluegreen.files import Unreadable, read_bounded

__all__ = ["MAX_BYTES", "MAX_DEPTH", "MAX_NODES", "load", "load_path", "refusal"]

MAX_DEPTH = 64  # nesting levels; real files use fewer than ten
MAX_NODES = 20_000  # scalars, lists and mappings; 200 jobs and 50 credentials are ~3,000


def load_path(path: str | os.PathLike[str], *, source: str | None = None) -> Any:
    """Read (files.py: bounded, never blocking, a regular file only) and load a file."""
    try:
        data = read_bounded(path, MAX_BYTES)
    except Unreadable as exc:
        raise refusal(exc, source or str(path)) from None
    return load(data, source=source or str(path))


def load(text_or_bytes: str | bytes, *, source: str) -> Any:
    """The document as Python data (dicts, lists, str, int, float, bool, None, dates), or a UsageError."""
    where = _printable(source)
    if isinstance(text_or_bytes, bytes):
        if len(text_or_bytes) > MAX_BYTES:
            raise UsageError("yaml.too_large", source=where, limit=MAX_BYTES)
        try:
            text = text_or_bytes.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise UsageError("yaml.not_utf8", source=where, offset=exc.start) from None
    else:
        text = text_or_bytes
        if len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
            raise UsageError("yaml.too_large", source=where, limit=MAX_BYTES)
    text = text.removeprefix("\ufeff")  # a BOM some editors write
    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except _Refused as refused:
        raise UsageError(refused.key, source=where, **refused.params) from None
    except yaml.MarkedYAMLError as exc:
        raise UsageError("yaml.syntax", source=where, error=_describe(exc)) from None
    except yaml.YAMLError as exc:
        raise UsageError("yaml.syntax", source=where, error=_printable(str(exc).splitlines()[0] if str(exc) else "?")) from None
    except RecursionError:  # a safety net below MAX_DEPTH's check (a tiny stack, say)
        raise UsageError("yaml.too_deep", source=where, limit=MAX_DEPTH, line="?") from None


class _Refused(Exception):
    def __init__(self, message: str, /, **params: object) -> None:
        super().__init__(message)
        self.key, self.params = message, params


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses aliases, duplicate keys and deep nesting."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._nodes = 0

    def compose_node(self, parent, index):  # noqa: ANN001, ANN201 - PyYAML's signature
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise _Refused("yaml.alias", line=event.start_mark.line + 1)
        self._depth += 1
        self._nodes += 1
        try:
            if self._nodes > MAX_NODES:
                raise _Refused("yaml.too_many_nodes", limit=MAX_NODES, line=self.peek_event().start_mark.line + 1)
            if self._depth > MAX_DEPTH:
                raise _Refused("yaml.too_deep", limit=MAX_DEPTH, line=self.peek_event().start_mark.line + 1)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node, deep=False):  # noqa: ANN001, ANN201
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                duplicate = key in seen
                seen.add(key)
            except TypeError:  # an unhashable key (a list): SafeLoader refuses it with its own error
                continue
            if duplicate:
                raise _Refused("yaml.duplicate_key", key=_printable(repr(key))[:80], line=key_node.start_mark.line + 1)
        return super().construct_mapping(node, deep=deep)


def _describe(exc: yaml.MarkedYAMLError) -> str:
    mark = exc.problem_mark or exc.context_mark
    problem = _printable(exc.problem or exc.context or "?")
    if mark is None:
        return problem
    return f"{problem} (line {mark.line + 1}, column {mark.column + 1})"
