"""Which text survives a trip through Jenkins' XML unchanged, and how some endpoints mangle the rest.

A value travels: our XML (1.0) → Jenkins parses it → XStream saves it as XML 1.1 → Jenkins parses its own file on
every load. Any character one of those steps cannot carry or rewrites would make Jenkins hold a different value
than we sent while every comparison we can make (a fingerprint of the value we sent) says "in sync":
- `\\r`: XML parsers turn CR and CRLF into LF (end-of-line handling, XML 1.0 §2.11).
- U+0085 (NEL) and U+2028 (LINE SEPARATOR): XML 1.1 (what Jenkins writes) also turns them into LF (§2.11).
- C0 controls other than tab and LF, DEL and the C1 controls: not allowed, or "restricted", in XML 1.0/1.1.
- U+FFFE, U+FFFF and lone surrogates (what Python makes of bytes that are not UTF-8): not characters at all.
Such text is refused before anything is written (one line naming where it came from, never the value).
"""

from __future__ import annotations

import re

# Everything allowed, as a complement: one regex search finds the first character that is not.
_UNSAFE = re.compile("[^\t\n\x20-\x7e\xa0-\u2027\u2029-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def unsafe_char(text: str) -> str | None:
    """The first character that would not come back unchanged, as `U+XXXX`, or None when all do."""
    match = _UNSAFE.search(text)
    return None if match is None else f"U+{ord(match.group()):04X}"


def latin1_lossy(text: str) -> str:
    """The text as an endpoint that writes Latin-1 returns it: every character beyond U+00FF becomes `?`."""
    return text.encode("latin-1", "replace").decode("latin-1")


def printable(text: str) -> str:
    """Text from the server made safe for a terminal: control characters (an escape sequence in a branch name
    someone typed into the UI, say) shown escaped, so `plan` can't be made to rewrite the operator's screen."""
    return "".join(c if c.isprintable() or c == "\t" else repr(c)[1:-1] for c in text)
