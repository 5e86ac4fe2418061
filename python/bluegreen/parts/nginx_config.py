"""What nginx reads, from `nginx -T`: every file of its configuration, in the order it includes them, parsed
into directives with the file and line each comes from. Standard library only, no Docker (nginx.py runs the
command; this reads its answer).

Why `nginx -T` and not bluegreen's own file: a team's setup keeps the upstream block wherever it likes (the
guide's is inline in `conf.d/default.conf`), and a site may name a color's container outside any upstream
(`proxy_pass http://maice-back-blue:8000;` for a websocket location). Only nginx knows every file it reads and
in which order; `-T` prints them as `# configuration file <path>:` followed by the file's text.

`nginx -T` reads the files *on disk* (as a reload would), not the copy the running master loaded: whether nginx
loaded them is the generation evidence's question (switch.py), answered here with each file's modification time
(`Dump.edited_since`).

The lexer follows nginx's own (src/core/ngx_conf_file.c, ngx_conf_read_token): words split on whitespace, `;`
ends a directive, `{` opens a block, `}` closes one, `#` at the start of a word runs to the end of the line,
quotes (with backslash escapes) make one word, and `${` inside a word is a variable, not a block.
"""

from __future__ import annotations

import fnmatch
import posixpath
import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Iterable, Iterator

_HEADER = re.compile(r"^# configuration file (/[^\n]*):$", re.M)
_VERSION = re.compile(r"nginx version: [^/\s]+/(\d+)\.(\d+)\.(\d+)")
RESOLVE_SINCE = (1, 27, 3)  # open-source nginx has `server … resolve` from 1.27.3 (docs/facts.md 4)


def version_of(text: str) -> tuple[int, ...]:
    """nginx's version from what `nginx -v` (or `-V`) prints, as (1, 22, 1); () when it names none."""
    match = _VERSION.search(text)
    return tuple(int(g) for g in match.groups()) if match else ()


class DumpUnreadable(ValueError):
    """The text is not what `nginx -T` prints (no file header, unbalanced braces)."""


@dataclass(frozen=True)
class Directive:
    name: str
    args: tuple[str, ...]
    path: str  # the file it is written in
    line: int  # 1-based line of its name
    children: tuple["Directive", ...] | None = None  # a block's directives; None for a simple directive
    end_line: int = 0  # line of its `;` or of its block's closing `}`
    # Character offsets in its file's text: its name's first character, and just after its `;` or closing `}`
    # (what an edit of the file cuts or replaces: parts/site_edit.py).
    start: int = field(default=0, compare=False)
    end: int = field(default=0, compare=False)

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass(frozen=True)
class ConfigFile:
    path: str
    text: str
    directives: tuple[Directive, ...]
    mtime: float | None = None  # epoch seconds, when the reader knows it


@dataclass(frozen=True)
class ServerEntry:
    """One `server` line of an upstream block."""

    address: str  # as written: `maice-back-blue:8000`, `10.0.1.5:8000`, `unix:/tmp/s`
    host: str  # the address without its port
    params: tuple[str, ...]
    backup: bool
    path: str
    line: int


@dataclass(frozen=True)
class UpstreamBlock:
    name: str
    path: str
    line: int
    end_line: int
    servers: tuple[ServerEntry, ...]
    context: tuple[str, ...] = ()  # the blocks around it, across includes: ("http",) or ("stream",)
    directive: Directive | None = field(default=None, compare=False)  # the block as parsed (offsets for an edit)

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"

    @property
    def primaries(self) -> tuple[str, ...]:
        return tuple(s.host for s in self.servers if not s.backup)

    @property
    def backups(self) -> tuple[str, ...]:
        return tuple(s.host for s in self.servers if s.backup)


@dataclass(frozen=True)
class Mention:
    """A directive whose arguments name a host (a container): in an upstream's `server`, a `proxy_pass`, a `set`."""

    host: str
    directive: str
    path: str
    line: int
    upstream: str | None = None  # the upstream block it is in, if any

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass(frozen=True)
class Dump:
    files: tuple[ConfigFile, ...] = field(default_factory=tuple)

    def file(self, path: str) -> ConfigFile | None:
        return next((f for f in self.files if f.path == path), None)

    def walk(self) -> Iterator[tuple[Directive, tuple[Directive, ...]]]:
        """Every directive of every file with the blocks around it (within its file), in file order."""
        for f in self.files:
            yield from _walk(f.directives, ())

    def upstreams(self, name: str | None = None) -> list[UpstreamBlock]:
        """Every `upstream <name> { … }` block (every upstream block without a name), wherever it is, with the
        blocks around it (nginx refuses two of one name in one context: a dump of a configuration that loads has
        at most one in `http`, but `stream` may have its own)."""
        return [_upstream(d, (*self.context(d.path), *(p.name for p in parents))) for d, parents in self.walk()
                if d.name == "upstream" and len(d.args) == 1 and (name is None or d.args == (name,))
                and d.children is not None]

    # --- includes: which file is read where ----------------------------------------------------------------
    @property
    def prefix(self) -> str:
        """nginx's configuration prefix (the main file's directory): relative `include` paths start there."""
        return posixpath.dirname(self.files[0].path) if self.files else "/etc/nginx"

    def including(self, path: str, *, context: tuple[str, ...] = ("http",)) -> Directive | None:
        """The `include` whose pattern reads `path` in `context` (nginx's glob: `*` stops at `/` and does not
        match a leading dot), None when no include would read a file there."""
        for d, parents in self.walk():
            if d.name == "include" and len(d.args) == 1 and includes(self._absolute(d.args[0]), path) \
                    and (*self.context(d.path), *(p.name for p in parents)) == context:
                return d
        return None

    def context(self, path: str, _seen: frozenset[str] = frozenset()) -> tuple[str, ...]:
        """The block names around a file's text: () for the main file, ("http",) for a file `http { include …; }`
        reads. A file no include reads (or one read from two places) has the context of the first reading."""
        if not self.files or path == self.files[0].path or path in _seen:
            return ()
        for d, parents in self.walk():
            if d.name == "include" and len(d.args) == 1 and includes(self._absolute(d.args[0]), path):
                return (*self.context(d.path, _seen | {path}), *(p.name for p in parents))
        return ()

    def mentions(self, hosts: Iterable[str]) -> list[Mention]:
        """Every directive naming one of `hosts` as a whole host name (`maice-back-blue` in
        `server maice-back-blue:8000`, `proxy_pass http://maice-back-blue:8000/`, `set $b maice-back-blue;`), but
        not a longer name that starts with it (`maice-back-blue-1`)."""
        wanted = sorted(set(hosts), key=len, reverse=True)
        if not wanted:
            return []
        pattern = re.compile(r"(?<![A-Za-z0-9_.-])(" + "|".join(map(re.escape, wanted)) + r")(?![A-Za-z0-9_-]|\.[A-Za-z0-9])")
        found = []
        for d, parents in self.walk():
            upstream = next((p.args[0] for p in reversed(parents) if p.name == "upstream" and p.args), None)
            for arg in d.args:
                for m in pattern.finditer(arg):
                    found.append(Mention(m.group(1), d.name, d.path, d.line, upstream))
        return found

    def resolved_at_load(self) -> list[Mention]:
        """Every host nginx resolves once, when it loads its configuration (docs/facts.md 4): an upstream's `server`
        without `resolve`, and the host of a `proxy_pass` (or `grpc_pass`, `fastcgi_pass`…) written without a
        variable that names no upstream block. A name that does not resolve then stops nginx from starting or
        reloading ("host not found in upstream"); one with `resolve` (nginx >= 1.27.3) or behind a variable is
        looked up while nginx runs."""
        upstreams = {d.args[0] for d, _ in self.walk() if d.name == "upstream" and d.args and d.children is not None}
        found = []
        for d, parents in self.walk():
            if not d.args or d.children is not None:
                continue
            if d.name == "server" and parents and parents[-1].name == "upstream":
                if "resolve" not in d.args[1:] and not d.args[0].startswith("unix:"):
                    found.append(Mention(_host(d.args[0]), d.name, d.path, d.line, parents[-1].args[0]))
            elif d.name in _PASSES and "$" not in d.args[0]:
                host = _url_host(d.args[0])
                if host and host not in upstreams:
                    found.append(Mention(host, d.name, d.path, d.line))
        return found

    def in_force(self, name: str, path: str, parents: tuple[Directive, ...]) -> tuple[Directive, ...]:
        """The `name` directives that apply inside the innermost of `parents` (a location of the file `path`), as
        nginx inherits them: from the innermost level that sets any (a location with one `proxy_set_header` of its
        own inherits none of its server's), up to the file's top level, then the main file's `http` block. An
        `include` at a level counts as that level's (Debian's `include proxy_params;`); a file's top level is taken
        as http's (what conf.d/*.conf is)."""
        for block in reversed(parents):
            found = self._named(block.children or (), name)
            if found:
                return found
        if parents and parents[0].name == "http":
            return ()
        own = self.file(path)
        found = self._named(own.directives if own else (), name)
        if found:
            return found
        http = next((d for f in self.files[:1] for d in f.directives if d.name == "http"), None)
        return self._named(http.children or (), name) if http else ()

    def included(self, path: str) -> bool:
        """Some `include` of the configuration names `path` (a glob such as conf.d/*.conf matches it), so nginx
        reads that file once it exists."""
        wanted = PurePosixPath(path)
        return any(wanted.match(self._absolute(d.args[0])) for d, _ in self.walk() if d.name == "include" and d.args)

    def log_formats(self) -> dict[str, tuple[str, Directive]]:
        """Every `log_format NAME [escape=…] 'text' …;` as NAME → (its text, the pieces joined as nginx does, and
        the directive)."""
        found = {}
        for d, _ in self.walk():
            if d.name == "log_format" and len(d.args) >= 2:
                pieces = d.args[2:] if d.args[1].startswith("escape=") else d.args[1:]
                found.setdefault(d.args[0], ("".join(pieces), d))
        return found

    def _named(self, directives: Iterable[Directive], name: str, depth: int = 0) -> tuple[Directive, ...]:
        found: list[Directive] = []
        for d in directives:
            if d.name == name:
                found.append(d)
            elif d.name == "include" and d.args and depth < 8:
                pattern = self._absolute(d.args[0])
                for f in self.files:
                    if PurePosixPath(f.path).match(pattern):
                        found.extend(self._named(f.directives, name, depth + 1))
        return tuple(found)

    def _absolute(self, pattern: str) -> str:
        """An include's path as nginx resolves it: relative to the main file's directory (its conf prefix)."""
        if pattern.startswith("/") or not self.files:
            return pattern
        return posixpath.join(posixpath.dirname(self.files[0].path), pattern)

    def edited_since(self, epoch: float, resolution: float = 1.0) -> list[str]:
        """Files changed after `epoch` (when nginx last loaded its configuration): what nginx serves from them is
        not known. Files whose time is unknown are not listed."""
        return [f.path for f in self.files if f.mtime is not None and f.mtime > epoch + resolution]

    def with_mtimes(self, mtimes: dict[str, float]) -> "Dump":
        return Dump(tuple(ConfigFile(f.path, f.text, f.directives, mtimes.get(f.path, f.mtime)) for f in self.files))


def parse_dump(text: str) -> Dump:
    """The files of an `nginx -T` answer (stdout), each parsed. A file that contains a line that looks like a
    header itself would be split there: nginx prints no marker to tell them apart."""
    headers = list(_HEADER.finditer(text))
    if not headers:
        raise DumpUnreadable("no '# configuration file' header")
    files = []
    for i, header in enumerate(headers):
        start = header.end() + 1
        end = headers[i + 1].start() if i + 1 < len(headers) else len(text)
        body = text[start:end]
        if body.endswith("\n"):  # nginx writes each file's text, then one newline of its own (nginx.c)
            body = body[:-1]
        path = header.group(1)
        files.append(ConfigFile(path, body, parse(body, path)))
    return Dump(tuple(files))


def parse(text: str, path: str = "-") -> tuple[Directive, ...]:
    """One file's directives (blocks nested), with line numbers."""
    directives, _ = _directives(list(tokens(text)), 0, path, top=True)
    return tuple(directives)


# --- the lexer ------------------------------------------------------------------------------------------------
_SPECIAL = ";{}"


@dataclass(frozen=True)
class Token:
    word: str  # unquoted, escapes resolved in quotes
    line: int
    quoted: bool
    start: int  # offsets of the word in the text, quotes included
    end: int


def tokens(text: str) -> Iterator[Token]:
    """Each word, and the specials `;`, `{`, `}` as words of their own (unquoted), with where they are."""
    i, line, n = 0, 1, len(text)
    while i < n:
        ch = text[i]
        if ch == "\n":
            line += 1
            i += 1
        elif ch in " \t\r":
            i += 1
        elif ch == "#":
            while i < n and text[i] != "\n":
                i += 1
        elif ch in _SPECIAL:
            yield Token(ch, line, False, i, i + 1)
            i += 1
        elif ch in "\"'":
            start, start_line, quote, word = i, line, ch, []
            i += 1
            while i < n and text[i] != quote:
                if text[i] == "\\" and i + 1 < n:
                    word.append(text[i + 1] if text[i + 1] in "\"'\\" else text[i:i + 2])
                    line += text[i + 1] == "\n"
                    i += 2
                    continue
                line += text[i] == "\n"
                word.append(text[i])
                i += 1
            i += 1  # the closing quote
            yield Token("".join(word), start_line, True, start, min(i, n))
        else:
            start, start_line = i, line
            while i < n and text[i] not in " \t\r\n;" and not (text[i] == "{" and not _variable_brace(text, i)):
                if text[i] == "\\" and i + 1 < n:
                    i += 1
                i += 1
            yield Token(text[start:i], start_line, False, start, i)


def _variable_brace(text: str, i: int) -> bool:
    return i > 0 and text[i - 1] == "$"


def _directives(found_tokens: list[Token], i: int, path: str, *, top: bool) -> tuple[list[Directive], int]:
    found: list[Directive] = []
    words: list[Token] = []
    while i < len(found_tokens):
        token = found_tokens[i]
        if not token.quoted and token.word == ";":
            if words:
                found.append(Directive(words[0].word, tuple(w.word for w in words[1:]), path, words[0].line,
                                       None, token.line, words[0].start, token.end))
            words = []
        elif not token.quoted and token.word == "{":
            if not words:
                raise DumpUnreadable(f"{path}:{token.line}: a block without a name")
            children, i = _directives(found_tokens, i + 1, path, top=False)
            close = found_tokens[i - 1]
            found.append(Directive(words[0].word, tuple(w.word for w in words[1:]), path, words[0].line,
                                   tuple(children), close.line, words[0].start, close.end))
            words = []
            continue
        elif not token.quoted and token.word == "}":
            if top:
                raise DumpUnreadable(f"{path}:{token.line}: unexpected '}}'")
            return found, i + 1
        else:
            words.append(token)
        i += 1
    if not top:
        raise DumpUnreadable(f"{path}: a block is not closed")
    return found, i


def _walk(directives: tuple[Directive, ...], parents: tuple[Directive, ...]
          ) -> Iterator[tuple[Directive, tuple[Directive, ...]]]:
    for d in directives:
        yield d, parents
        if d.children:
            yield from _walk(d.children, (*parents, d))


def includes(pattern: str, path: str) -> bool:
    """An absolute `include` pattern reads `path` (glob(3) as nginx calls it: per path component, a wildcard
    never matches `/` nor a leading dot)."""
    want, have = pattern.split("/"), path.split("/")
    if len(want) != len(have):
        return False
    for p, h in zip(want, have):
        if h.startswith(".") and not p.startswith("."):
            return False
        if not fnmatch.fnmatchcase(h, p):
            return False
    return True


def _upstream(block: Directive, context: tuple[str, ...] = ()) -> UpstreamBlock:
    servers = []
    for d in block.children or ():
        if d.name != "server" or not d.args:
            continue
        address = d.args[0]
        host = address if address.startswith("unix:") else _host(address)
        servers.append(ServerEntry(address, host, d.args[1:], "backup" in d.args[1:], d.path, d.line))
    return UpstreamBlock(block.args[0], block.path, block.line, block.end_line, tuple(servers), context, block)


_PASSES = {"proxy_pass", "grpc_pass", "fastcgi_pass", "uwsgi_pass", "scgi_pass", "memcached_pass"}


def _url_host(target: str) -> str | None:
    """The host a `*_pass` names (`http://maice-back-blue:8000/x` → `maice-back-blue`), None for a unix socket."""
    rest = target.split("://", 1)[1] if "://" in target else target
    if rest.startswith("unix:"):
        return None
    return _host(rest.split("/", 1)[0]) or None


def _host(address: str) -> str:
    if address.startswith("["):  # [::1]:8000
        return address.split("]", 1)[0] + "]"
    return address.rsplit(":", 1)[0] if ":" in address else address
