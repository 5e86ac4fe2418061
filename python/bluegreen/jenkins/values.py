"""Credential values and their fingerprints.

Jenkins never gives a secret back (reads show `<secret-redacted/>`), so a changed value is detected through a
fingerprint kept where Jenkins does show it: the credential's description,
`…, fp=<16 hex>]` in its ownership marker (ownership.py). The fingerprint is HMAC-SHA256 keyed with
BLUEGREEN_FINGERPRINT_KEY over the id, the type, the declared description and the value(s): a plain hash would
let anyone who can read the description brute-force a short secret offline; without the key they cannot. The
id is mixed in so two credentials with one value don't look alike; the description because some Jenkins
endpoints return its characters beyond Latin-1 as `?`, so a changed description must show somewhere we can
read. Keep the key stable (a Jenkins secret-text credential is a good home): a new key re-writes every
credential once, which is harmless.

Values are checked before anything is sent: a value Jenkins' XML would change (a CR, U+FFFE, bytes that are not
UTF-8 — see xmltext.py) is refused naming the variable or file and the character's code point, never the value;
otherwise Jenkins would hold a different secret while the fingerprint of the one we sent says "in sync".
"""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass, field
from typing import Mapping

from bluegreen.errors import MissingVariables, UsageError
from bluegreen.files import Unreadable, read_bounded
from bluegreen.jenkins.declaration import CredentialSpec
from bluegreen.jenkins.xmltext import unsafe_char

KEY_VAR = "BLUEGREEN_FINGERPRINT_KEY"
MIN_KEY_LENGTH = 16  # a short key would be as guessable as the secrets it protects
FINGERPRINT_CHARS = 16
VALUE_FILE_LIMIT = 256 * 1024  # a key, a token, a service-account file: kilobytes


@dataclass(frozen=True)
class Secret:
    """A value that must not reach output, logs or exceptions: its repr and str say so, not what it is."""

    _value: str = field(repr=False)

    def reveal(self) -> str:
        return self._value

    def __str__(self) -> str:
        return "<secret>"


@dataclass(frozen=True)
class CredentialValue:
    spec: CredentialSpec
    secret: Secret | None = None  # type "secret"
    username: Secret | None = None  # type "usernamePassword"
    password: Secret | None = None

    def parts(self) -> tuple[Secret, ...]:
        return tuple(p for p in (self.secret, self.username, self.password) if p is not None)

    def fingerprint(self, key: Secret) -> str:
        fields = [self.spec.id, self.spec.type, self.spec.description, *(p.reveal() for p in self.parts())]
        message = "\0".join(fields).encode("utf-8")
        return hmac.new(key.reveal().encode("utf-8"), message, hashlib.sha256).hexdigest()[:FINGERPRINT_CHARS]


def read_values(specs: tuple[CredentialSpec, ...], environ: Mapping[str, str] = os.environ,
                ) -> tuple[tuple[CredentialValue, ...], Secret | None, list[str]]:
    """Every declared value plus the fingerprint key, and the names of all that are missing (none is read
    half-way: the caller refuses to write anything while the list is not empty)."""
    missing: list[str] = []

    def env(name: str) -> Secret | None:
        value = environ.get(name, "")
        if not value:
            missing.append(name)
            return None
        return _checked(value, name)

    values = []
    for spec in specs:
        if spec.type == "usernamePassword":
            values.append(CredentialValue(spec, username=env(spec.username_from_env or ""),
                                          password=env(spec.password_from_env or "")))
        elif spec.from_file is not None:
            values.append(CredentialValue(spec, secret=_from_file(spec, missing)))
        else:
            values.append(CredentialValue(spec, secret=env(spec.from_env or "")))
    key = env(KEY_VAR) if specs else None
    if not missing and key is not None and len(key.reveal()) < MIN_KEY_LENGTH:
        raise UsageError("jenkins.key_too_short", var=KEY_VAR, length=MIN_KEY_LENGTH)
    return tuple(values), key, missing


def require(missing: list[str]) -> None:
    if missing:
        raise MissingVariables("jenkins.values_missing", names=", ".join(dict.fromkeys(missing)))


def _from_file(spec: CredentialSpec, missing: list[str]) -> Secret | None:
    try:
        data = read_bounded(spec.from_file, VALUE_FILE_LIMIT)  # type: ignore[arg-type]
    except Unreadable as exc:
        if exc.why == "missing":
            missing.append(str(spec.from_file))
            return None
        raise UsageError("jenkins.value_file_unreadable", path=str(exc.path), id=spec.id, error=exc.reason) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError("jenkins.value_not_utf8", name=str(spec.from_file), offset=exc.start) from None
    # One trailing newline is the editor's, not the secret's.
    text = text[:-1] if text.endswith("\n") else text
    if not text:
        missing.append(str(spec.from_file))
        return None
    return _checked(text, str(spec.from_file))


def _checked(value: str, name: str) -> Secret:
    # Say which variable and which character, never the value.
    char = unsafe_char(value)
    if char == "U+000D":
        raise UsageError("jenkins.value_carriage_return", name=name)
    if char is not None:
        raise UsageError("jenkins.value_unsafe_char", name=name, char=char)
    return Secret(value)
