"""Changing several of nginx's files as one (`bluegreen init`): write each, one `nginx -t` for all of them
together, one graceful reload confirmed by new workers (NginxControl.reload); on any failure every file is put back
exactly as it was (its previous text, or no file) and nginx serves what it served before.

How a file is written, inside the container (`sh`, `cat`, `cp`, `mv`, `readlink`: the official images and
busybox have them):
- a symbolic link (Debian's `sites-enabled/default` → `../sites-available/default`) is followed: the file it
  names is changed, the link stays a link;
- a new file beside the target, with the target's mode and owner (`cp -p`), renamed over it: nginx never reads a
  half-written file;
- a single-file bind mount cannot be renamed over (EBUSY: it is a mount point, design notes 7): it is written in
  place instead. nginx reads files only when it tests or reloads, and nothing reloads it meanwhile (the lock).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from bluegreen import failpoints
from bluegreen.errors import DeployFailed
from bluegreen.parts.nginx import Generation, NginxControl, last_line


@dataclass(frozen=True)
class FileChange:
    path: str
    text: str | None  # the new text; None: remove the file
    previous: str | None  # the text it has now; None: there is no such file


def serve_files(control: NginxControl, changes: Sequence[FileChange]) -> tuple[Generation, tuple[str, ...]]:
    """Write every change, test them together, reload and confirm: (the new generation of workers, the paths that
    had to be written in place). Any failure puts every file back, reloads if nginx had reloaded, and raises."""
    written: list[FileChange] = []
    in_place: list[str] = []
    try:
        for change in changes:
            written.append(change)
            if _write(control, change.path, change.text):
                in_place.append(change.path)
        failpoints.reach("init.written")
        ok, output = control.test()
        if not ok:
            raise DeployFailed("nginx.test_failed", error=last_line(output))
    except BaseException:
        put_back(control, written)
        raise
    try:
        return control.reload(), tuple(in_place)
    except BaseException:
        put_back(control, written)
        try:
            control.reload()
        except DeployFailed:
            pass  # the master kept serving what it had: nothing more to undo
        raise


def put_back(control: NginxControl, changes: Sequence[FileChange]) -> None:
    """Every file as it was before `changes` (best effort: the run failed already; each one is tried)."""
    for change in reversed(changes):
        try:
            _write(control, change.path, change.previous)
        except DeployFailed:
            pass


def modules_path(control: NginxControl) -> str:
    """Where this nginx loads dynamic modules from (`nginx -V`: --modules-path), for the njs `load_module` line."""
    code, out = control.docker.exec(control.container, ["nginx", "-V"])
    for word in out.split():
        if word.startswith("--modules-path="):
            return word.partition("=")[2]
    return f"{(_prefix(out) or '/etc/nginx').rstrip('/')}/modules"


def exists(control: NginxControl, path: str) -> bool:
    code, _ = control.docker.exec(control.container, ["test", "-f", path])
    return code == 0


def _prefix(version_output: str) -> str | None:
    return next((w.partition("=")[2] for w in version_output.split() if w.startswith("--prefix=")), None)


def _write(control: NginxControl, path: str, text: str | None) -> bool:
    """Write (or, with None, remove) one file in the nginx container; True when it had to be written in place."""
    if text is None:
        code, out = control.docker.exec(control.container, ["sh", "-c", _REMOVE, "bluegreen", path])
    else:
        code, out = control.docker.exec(control.container, ["sh", "-c", _WRITE, "bluegreen", path],
                                     stdin=text.encode("utf-8"))
    if code != 0:
        raise DeployFailed("nginx.swap_failed", path=path, error=last_line(out))
    return out.strip().endswith(_IN_PLACE)


_IN_PLACE = "bluegreen:in-place"
_RESOLVE = 't=$1; if [ -L "$t" ]; then t=$(readlink -f -- "$t") && [ -n "$t" ] || exit 97; fi; '
# The temporary name starts with a dot: nginx's include globs (`*.conf`, `*`) never read it.
_WRITE = _RESOLVE + '''d=${t%/*}; tmp="$d/.${t##*/}.bluegreen-tmp"
mkdir -p -- "$d" && rm -f -- "$tmp" || exit 97
if [ -f "$t" ]; then cp -p -- "$t" "$tmp" || exit 97; fi
cat > "$tmp" || { rm -f -- "$tmp"; exit 97; }
if ! mv -f -- "$tmp" "$t" 2>/dev/null; then
    cat -- "$tmp" > "$t" || { rm -f -- "$tmp"; exit 97; }
    rm -f -- "$tmp"; echo ''' + _IN_PLACE + '''
fi'''
_REMOVE = _RESOLVE + 'rm -f -- "$t" || exit 97'
