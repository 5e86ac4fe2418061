"""Where operator lines go: stdout, or stderr when stdout carries the JSON document; secrets masked.

Every line passes through `mask`, which replaces any configured secret value (they can surface in a
container's log tail or an engine error) with `****`, the way Jenkins masks bound credentials.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any, Iterable, TextIO

from bluegreen.messages import plain, render

RULE = "========================================"


class Reporter:
    def __init__(self, lang: str, *, json_mode: bool = False, secrets: Iterable[str] = (),
                 stream: TextIO | None = None) -> None:
        self.lang = lang
        self.json_mode = json_mode
        self._secrets = sorted({s for s in secrets if s and len(s) >= 3}, key=len, reverse=True)
        self._stream = stream
        self._last_progress = 0.0

    @property
    def stream(self) -> TextIO:
        return self._stream or (sys.stderr if self.json_mode else sys.stdout)

    def add_secrets(self, values: Iterable[str]) -> None:
        self._secrets = sorted(set(self._secrets) | {v for v in values if v and len(v) >= 3}, key=len, reverse=True)

    def mask(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "****")
        return text

    def line(self, text: str) -> None:
        print(self.mask(text), file=self.stream, flush=True)

    def say(self, key: str, **params: Any) -> None:
        self.line(render(key, self.lang, **params))

    def text(self, key: str, **params: Any) -> str:
        """The message without its status symbol, for reasons embedded in other messages and reports."""
        return self.mask(plain(render(key, self.lang, **params)))

    def rule(self) -> None:
        self.line(RULE)

    def progress(self, key: str, *, force: bool = False, every: float = 2.0, **params: Any) -> None:
        """Rate-limited progress for long waits (what is awaited, elapsed / deadline)."""
        now = time.monotonic()
        if force or now - self._last_progress >= every:
            self._last_progress = now
            self.say(key, **params)

    def document(self, data: Any) -> None:
        """The one JSON document on stdout (`--json`)."""
        print(self.mask(json.dumps(data, ensure_ascii=False, indent=2)), file=sys.stdout, flush=True)
