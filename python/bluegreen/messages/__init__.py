"""Operator messages: one catalogue per language, keyed by message id.

Code never concatenates user-facing sentences: it names a key and its parameters. The language comes from
`--lang`, then BLUEGREEN_LANG, then the locale (LC_ALL / LC_MESSAGES / LANG starting with "ko" → Korean).
"""

from __future__ import annotations

import os
from typing import Mapping

from bluegreen.messages import en, ko

CATALOGUES: Mapping[str, Mapping[str, str]] = {"en": en.MESSAGES, "ko": ko.MESSAGES}
LANGS = tuple(CATALOGUES)


def detect_language(environ: Mapping[str, str] = os.environ) -> str:
    explicit = environ.get("BLUEGREEN_LANG", "").strip().lower()
    if explicit in CATALOGUES:
        return explicit
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = environ.get(var, "")
        if value:
            return "ko" if value.lower().startswith("ko") else "en"
    return "en"


def render(key: str, lang: str = "en", /, **params: object) -> str:
    """The message for `key` in `lang` (English when the language lacks it)."""
    template = CATALOGUES.get(lang, en.MESSAGES).get(key) or en.MESSAGES.get(key)
    if template is None:
        return f"{key} {params}" if params else key
    return template.format(**params)


PREFIXES = ("ℹ️", "✅", "❌", "⚠️")


def plain(text: str) -> str:
    """A message without its leading status symbol, for embedding in another message."""
    stripped = text.lstrip()
    for prefix in PREFIXES:
        if stripped.startswith(prefix):
            return stripped[len(prefix):].lstrip()
    return stripped
