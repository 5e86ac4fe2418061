"""The text of bluegreen's upstream file in `switch: shared-dict`, as far as a color switch changes it.

A color switch changes two lines: the js_var naming the color an empty dictionary falls back to, and the
generation comment. Everything else (the `shape`: which containers each color's block names, the probe entries,
the admin socket) stays, so a rollback derives its file from the one nginx confirmed instead of rendering it.
Standard library only: the rollback's quick path (quick/rollback.py) uses it before anything heavy
is imported.
"""

from __future__ import annotations

import os
import re
import time

_FILE_COLOR = re.compile(r"^js_var \$bg_(\w+)_file_color (blue|green);$", re.M)
_GENERATION = re.compile(r"^# bluegreen-generation: .*$", re.M)
_KEY = re.compile(r"^js_var \$bg_\w+_key ([0-9a-f]{64});$", re.M)


def file_color(text: str | None) -> str | None:
    match = _FILE_COLOR.search(text or "")
    return match.group(2) if match else None


def key_digest(text: str | None) -> str | None:
    """The digest of the admin socket's key the file names (parts/admin_key.py); None: a file of before keys."""
    match = _KEY.search(text or "")
    return match.group(1) if match else None


def shape(text: str | None) -> str:
    """The file without what a color switch changes (the js_var, the generation): equal shapes need no reload."""
    return _GENERATION.sub("", _FILE_COLOR.sub("", text or ""))


def recolor(text: str, color: str, generation: str | None = None) -> str:
    """`text` serving `color` when the dictionary is empty (under a new `generation`, if given): what rendering it
    for a color switch gives, without jinja2."""
    text = _FILE_COLOR.sub(lambda m: f"js_var $bg_{m.group(1)}_file_color {color};", text, count=1)
    return text if generation is None else regenerate(text, generation)


def regenerate(text: str, generation: str) -> str:
    """`text` under a new generation name (either switch's file has the line)."""
    return _GENERATION.sub(f"# bluegreen-generation: {generation}", text, count=1)


def new_generation() -> str:
    """A name for one rendering of the file: when, and 8 random hex digits."""
    return f"{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{os.urandom(4).hex()}"
