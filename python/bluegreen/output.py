"""Where operator lines go: stdout, or stderr when stdout carries the JSON document; secrets masked.

Secret values (the service's credentials, as the step binds them) can surface in a failing container's log tail
or an engine error. They are masked as *values*, before anything is formatted or serialized:
- a message's parameters are masked before the message is rendered, a JSON document's strings before it is
  serialized (so `--json` stays valid JSON whatever a secret looks like: `true`, `blue`, `1`);
- a secret is masked whole, each of its lines (a PEM key, a JSON service-account file printed line by line), its
  JSON-escaped form (an app that logs its environment as JSON) and its repr/escaped forms (an error quoting it);
- text is masked *before* it is cut: a parameter is cut to PARAM_LIMIT characters and a log line to LINE_LIMIT
  after masking, so a cut can never leave a secret's head or tail unmasked (a producer that must cut first keeps
  `keep_bytes()` of each line);
- a secret of one or two characters cannot be masked without destroying the text around it: a log tail is then
  withheld, with a line saying why and how to read it (the caller names how: `docker logs`, the hook's command).
"""

from __future__ import annotations

import json
import sys
from typing import Any, Iterable, TextIO

from bluegreen.clock import REAL, Clock
from bluegreen.messages import plain, render

RULE = "========================================"
MASK = "****"
MASKABLE = 3  # shorter values cannot be masked readably
PARAM_LIMIT = 500  # characters of one value from outside in a message (an engine error, a quoted value)
LINE_LIMIT = 1000  # characters of one line of a log tail (a container's, a hook's)


def escape(text: str, *, limit: int | None = None) -> str:
    """Text from outside (an operator's --reason, a name read from a file) as one line of printable text: control
    and format characters (ANSI escapes, CR/LF, zero-width or bidi marks) are shown as `\\x1b`, `\\n`, `\\u202e`, so
    they can neither forge lines nor recolour the terminal; longer than `limit`: cut, ending in "…"."""
    shown = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    if limit is not None and len(shown) > limit:
        shown = shown[:max(limit - 1, 0)] + "…"
    return shown


def variants(secret: str) -> set[str]:
    """Every form of a secret that is masked: whole, line by line, JSON-escaped, as repr() and escape() show it."""
    found = {secret, json.dumps(secret, ensure_ascii=False)[1:-1], json.dumps(secret)[1:-1], repr(secret)[1:-1],
             escape(secret)}
    found.update(line.strip() for line in secret.replace("\r", "\n").split("\n"))
    return {v for v in found if len(v) >= MASKABLE}


class Reporter:
    def __init__(self, lang: str, *, json_mode: bool = False, secrets: Iterable[str] = (),
                 stream: TextIO | None = None, clock: Clock = REAL) -> None:
        self.lang = lang
        self.json_mode = json_mode
        self._stream = stream
        self.clock = clock
        self._last_progress: float | None = None
        self._masked: list[str] = []
        self._too_short = False
        self.add_secrets(secrets)

    @property
    def stream(self) -> TextIO:
        return self._stream or (sys.stderr if self.json_mode else sys.stdout)

    def add_secrets(self, values: Iterable[str]) -> None:
        found = set(self._masked)
        for value in values:
            if not value:
                continue
            if len(value.strip()) < MASKABLE:
                self._too_short = True
            found |= variants(value)
        self._masked = sorted(found, key=len, reverse=True)

    def mask(self, text: str) -> str:
        for secret in self._masked:
            text = text.replace(secret, MASK)
        return text

    def keep_bytes(self) -> int:
        """How much of one log line a producer that cannot keep it all (a hook's output, streamed) must keep for
        log_tail to mask it before it cuts it: the shown part, plus the longest form of a secret that can start
        inside it."""
        longest = max((len(v.encode("utf-8", "surrogatepass")) for v in self._masked), default=0)
        return 4 * (LINE_LIMIT + 1) + longest

    def params(self, params: dict[str, Any]) -> dict[str, Any]:
        """Masked, then escaped, then cut: a value read from outside (a hand-edited nginx file, an engine error, a
        value quoted as given) can neither show a secret, nor forge a line or recolour the terminal."""
        return {k: escape(self.mask(v), limit=PARAM_LIMIT) if isinstance(v, str) else v for k, v in params.items()}

    def line(self, text: str) -> None:
        print(self.mask(text), file=self.stream, flush=True)

    def say(self, key: str, /, **params: Any) -> None:
        print(self.message(key, **params), file=self.stream, flush=True)

    def message(self, key: str, /, **params: Any) -> str:
        """The message with its status symbol, parameters masked."""
        return render(key, self.lang, **self.params(params))

    def text(self, key: str, /, **params: Any) -> str:
        """The message without its status symbol, for reasons embedded in other messages and reports."""
        return plain(self.message(key, **params))

    def rule(self) -> None:
        self.line(RULE)

    def log_tail(self, lines: list[str], *, withheld: str = "output.log_withheld", **params: Any) -> None:
        """A failing container's or a hook's last lines, masked as a whole (a secret may span lines), then each cut
        to LINE_LIMIT; or withheld, saying so with `withheld` (its `params` name how to read them)."""
        if not lines:
            return
        if self._too_short:
            self.say(withheld, **params)
            return
        for line in self.mask("\n".join(lines)).split("\n"):
            print(f"    │ {escape(line, limit=LINE_LIMIT)}", file=self.stream, flush=True)

    def progress(self, key: str, *, force: bool = False, every: float = 2.0, **params: Any) -> None:
        """Rate-limited progress for long waits (what is awaited, elapsed / deadline)."""
        now = self.clock.monotonic()
        if force or self._last_progress is None or now - self._last_progress >= every:
            self._last_progress = now
            self.say(key, **params)

    def document(self, data: Any) -> None:
        """The one JSON document on stdout (`--json`), its strings masked before it is serialized."""
        print(json.dumps(self.masked(data), ensure_ascii=False, indent=2), file=sys.stdout, flush=True)

    def masked(self, data: Any) -> Any:
        if isinstance(data, str):
            return self.mask(data)
        if isinstance(data, dict):
            return {self.masked(k): self.masked(v) for k, v in data.items()}
        if isinstance(data, (list, tuple)):
            return [self.masked(v) for v in data]
        return data
