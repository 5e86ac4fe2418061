#!/usr/bin/env python3
"""Build resources/bluegreen/bluegreen.pyz: the bluegreen CLI and its pure-Python dependencies in one zipapp.

The Jenkins agent needs only python3 >= 3.10 and Docker: no pip, no network at deploy time. The archive is
byte-for-byte reproducible: exact pins from python/requirements.lock, compiled extensions dropped (every bundled
library has a pure-Python fallback), entries sorted, timestamps and permissions fixed.

    build-bundle.py [--out PATH] [--check]    --check: fail when PATH differs from a fresh build
"""

from __future__ import annotations

import argparse
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
MAIN = '''"""The bundled bluegreen CLI (built by scripts/build-bundle.py).

Python cannot cache compiled modules inside a zip, so importing ~15 libraries from it costs about a second on
every run. Like shiv, the first run unpacks the archive into a cache directory named by its content hash;
every later run imports from there, with compiled modules cached beside them.
"""
import hashlib, os, shutil, sys, tempfile, zipfile

def _unpacked():
    archive = os.path.abspath(sys.argv[0])
    with open(archive, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()[:16]
    root = os.environ.get("BLUEGREEN_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "bluegreen")
    target = os.path.join(root, digest)
    if not os.path.isdir(target):
        os.makedirs(root, exist_ok=True)
        scratch = tempfile.mkdtemp(prefix=".unpack-", dir=root)
        with zipfile.ZipFile(archive) as zf:
            zf.extractall(scratch)
        try:
            os.rename(scratch, target)  # atomic: concurrent first runs never see a half-unpacked tree
        except OSError:
            shutil.rmtree(scratch, ignore_errors=True)  # another run won the race
    return target

try:
    sys.path.insert(0, _unpacked())
except OSError:
    pass  # no writable cache: import straight from the archive (slower, same behaviour)

from bluegreen.cli import main

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
