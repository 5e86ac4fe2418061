#!/usr/bin/env python3
"""Build resources/bluegreen/bluegreen.pyz: the bluegreen CLI and its pure-Python dependencies in one zipapp.

The Jenkins agent needs only python3 >= 3.10 and Docker: no pip, no network at deploy time. The archive is
byte-for-byte reproducible: exact pins from python/requirements.lock, compiled extensions dropped (every bundled
library has a pure-Python fallback), entries sorted, timestamps and permissions fixed.

    build-bundle.py [--out PATH] [--check]    --check: fail when PATH differs from a fresh build
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LOCK = REPO / "python" / "requirements.lock"
PACKAGE = REPO / "python" / "bluegreen"
DEFAULT_OUT = REPO / "resources" / "bluegreen" / "bluegreen.pyz"
# Admin-side only (job sync runs from the installed package, not on agents).
NOT_BUNDLED = {"python-jenkins", "multi_key_dict", "pbr"}
SKIP_SUFFIXES = (".so", ".pyc", ".pyd", ".c", ".pyi")
SKIP_DIST_INFO = {"RECORD", "INSTALLER", "REQUESTED", "direct_url.json", "WHEEL"}
MANIFEST = "BUNDLE-MANIFEST.json"  # every other entry's SHA-256: what the unpacked cache is checked against
MAIN = '''"""The bundled bluegreen CLI (built by scripts/build-bundle.py).

Python cannot cache compiled modules inside a zip, so importing ~15 libraries from it costs about a second on
every run. Like shiv, the archive is unpacked into a cache directory named by its content hash and imported from
there, with compiled modules cached beside them. Others may be able to write there, so the cache is checked
before every run (~20 ms), never trusted:
- the cache root and every directory in the tree belong to this user and are not writable by group or others
  (so only this user or root can have written the compiled modules Python keeps in __pycache__);
- every file of the archive is there with the SHA-256 recorded in BUNDLE-MANIFEST.json, and no other file but
  compiled modules in __pycache__ (a planted `json.py` would be imported before the real one); no symlinks.
A tree that fails is unpacked again, under a lock in the root (concurrent runs repair it once), into a private
directory that is renamed into place (a run sees the old tree or the new one, never half of one). When the root itself is not safe (not ours, writable by others)
or not writable, this run unpacks into a private temporary directory removed when it ends: slower, same
behaviour. (Importing straight from the archive is not an option: zipimport has no namespace packages.)
"""
import atexit, fcntl, hashlib, json, os, re, shutil, stat, sys, tempfile, zipfile

MANIFEST = "BUNDLE-MANIFEST.json"
_COMPILED = re.compile(r"[^/]+\\.pyc(\\.[0-9]+)?")  # a module compiled by Python (or being written: name.pyc.<id>)


def _ours(st):
    return st.st_uid == os.geteuid() and not st.st_mode & 0o022


def _safe_dir(path):
    st = os.lstat(path)
    return stat.S_ISDIR(st.st_mode) and _ours(st)


def _verified(target, manifest):
    try:
        if not _safe_dir(target):
            return False
        found = 0
        for top, dirs, files in os.walk(target):
            if not all(_safe_dir(os.path.join(top, d)) for d in dirs):
                return False
            rel_top = os.path.relpath(top, target).replace(os.sep, "/")
            for name in files:
                path = os.path.join(top, name)
                compiled = os.path.basename(top) == "__pycache__" and _COMPILED.fullmatch(name)
                try:
                    st = os.lstat(path)
                except FileNotFoundError:
                    if compiled:  # another run renamed its temporary .pyc into place meanwhile
                        continue
                    raise
                if not stat.S_ISREG(st.st_mode) or not _ours(st):
                    return False
                if compiled:
                    continue
                rel = name if rel_top == "." else rel_top + "/" + name
                with open(path, "rb") as handle:
                    if manifest.get(rel) != hashlib.sha256(handle.read()).hexdigest():
                        return False
                found += 1
        return found == len(manifest)
    except OSError:
        return False


def _extract(archive, manifest, into):
    with zipfile.ZipFile(archive) as zf:
        for name in manifest:
            dest = os.path.join(into, *name.split("/"))
            os.makedirs(os.path.dirname(dest), mode=0o700, exist_ok=True)
            fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(zf.read(name))
    for top, _, files in os.walk(into):  # made here, private: Python's own mkdir would follow the umask
        if any(f.endswith(".py") for f in files):
            os.mkdir(os.path.join(top, "__pycache__"), 0o700)


def _unpack(archive, root, target, manifest):
    scratch = tempfile.mkdtemp(prefix=".unpack-", dir=root)  # 0700
    try:
        _extract(archive, manifest, scratch)
        if not _verified(scratch, manifest):
            raise OSError("unpacked tree does not match the manifest")
        if os.path.lexists(target):  # a tree that failed the check: set aside, then removed
            aside = tempfile.mkdtemp(prefix=".stale-", dir=root)
            try:
                os.rename(target, os.path.join(aside, "tree"))
            except OSError:
                pass
            shutil.rmtree(aside, ignore_errors=True)
        os.rename(scratch, target)
        return target
    except OSError:
        shutil.rmtree(scratch, ignore_errors=True)
        return target if _verified(target, manifest) else None  # another run may have put it in place


def _private(archive, manifest):
    """No safe cache: a private tree for this run only, removed when it ends."""
    where = tempfile.mkdtemp(prefix="bluegreen-")
    atexit.register(shutil.rmtree, where, True)
    _extract(archive, manifest, where)
    sys.dont_write_bytecode = True
    return where


def _unpacked():
    archive = os.path.abspath(sys.argv[0])
    with open(archive, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()[:16]
    with zipfile.ZipFile(archive) as zf:
        manifest = json.loads(zf.read(MANIFEST))
    root = os.environ.get("BLUEGREEN_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "bluegreen")
    try:
        os.makedirs(root, mode=0o700, exist_ok=True)
        safe = _safe_dir(root)
    except OSError:
        safe = False
    target = os.path.join(root, digest)
    if safe and _verified(target, manifest):
        return target
    if not safe:
        return _private(archive, manifest)
    lock = os.open(os.path.join(root, ".lock"), os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one run repairs; the others then find the repaired tree
        if _verified(target, manifest):
            return target
        return _unpack(archive, root, target, manifest) or _private(archive, manifest)
    finally:
        os.close(lock)


try:
    _where = _unpacked()
except (OSError, ValueError, KeyError, zipfile.BadZipFile):
    _where = None  # nowhere to unpack: import straight from the archive
if _where:
    sys.path.insert(0, _where)

from bluegreen.cli.entry import main

main()
'''
EPOCH = (1980, 1, 1, 0, 0, 0)


def pins() -> list[str]:
    lines = [ln.strip() for ln in LOCK.read_text().splitlines() if ln.strip() and not ln.startswith("#")]
    return [ln for ln in lines if ln.split("==")[0] not in NOT_BUNDLED]


def install(target: Path) -> None:
    cmd = [sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check", "--no-deps",
           "--no-compile", "--only-binary=:all:", "--target", str(target), *pins()]
    subprocess.run(cmd, check=True)


def wanted(rel: Path) -> bool:
    if rel.parts[0] == "bin" or "__pycache__" in rel.parts or rel.suffix in SKIP_SUFFIXES:
        return False
    if rel.name.endswith(SKIP_SUFFIXES) or (rel.parent.name.endswith(".dist-info") and rel.name in SKIP_DIST_INFO):
        return False
    return True


def entries(site: Path) -> dict[str, bytes]:
    files = {str(p.relative_to(site)): p.read_bytes() for p in site.rglob("*")
             if p.is_file() and wanted(p.relative_to(site))}
    for p in PACKAGE.rglob("*"):
        rel = p.relative_to(PACKAGE.parent)
        if p.is_file() and wanted(rel):
            files[str(rel)] = p.read_bytes()
    files["__main__.py"] = MAIN.encode()
    files[MANIFEST] = json.dumps({name: hashlib.sha256(data).hexdigest() for name, data in sorted(files.items())},
                                 indent=0, sort_keys=True).encode()
    return files


def write(out: Path, files: dict[str, bytes]) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    with open(tmp, "wb") as raw:
        raw.write(b"#!/usr/bin/env python3\n")
        with zipfile.ZipFile(raw, "w") as zf:
            for name in sorted(files):
                info = zipfile.ZipInfo(name, date_time=EPOCH)
                info.external_attr = 0o644 << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                zf.writestr(info, files[name], compresslevel=9)
    tmp.replace(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where to write the zipapp")
    parser.add_argument("--check", action="store_true", help="compare a fresh build with --out; change nothing")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        site = Path(tmp) / "site"
        install(site)
        fresh = Path(tmp) / "bluegreen.pyz"
        write(fresh, entries(site))
        if args.check:
            if not args.out.exists() or args.out.read_bytes() != fresh.read_bytes():
                print(f"bundle: {args.out} is out of date with python/: run `make bundle` and commit it",
                      file=sys.stderr)
                return 1
            print(f"bundle: {args.out} is up to date ({args.out.stat().st_size} bytes)")
            return 0
        write(args.out, entries(site))
    print(f"bundle: wrote {args.out} ({args.out.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
