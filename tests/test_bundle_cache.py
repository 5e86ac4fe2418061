"""The bundle's unpacked cache is checked before every run, never trusted: a file planted in it never runs, a
deleted or tampered one is put back, a cache others can write to is not used. A bundle built from this tree
(scripts/build-bundle.py --out), run by the system python3 -I as the Jenkins step runs it."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SYSTEM_PYTHON = "/usr/bin/python3"
CONFIG = "version: 1\nnetwork: n\nservices:\n  backend: {image: 'app:1'}\n"


@pytest.fixture
def run(bundle, tmp_path):
    """Run the bundle with a cache under tmp_path; returns the completed process."""
    (tmp_path / "bluegreen.yml").write_text(CONFIG)
    cache = tmp_path / "cache"

    def go(*args: str, cache_dir: Path = cache) -> subprocess.CompletedProcess:
        env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "BLUEGREEN_CACHE_DIR": str(cache_dir),
               "BLUEGREEN_LANG": "en"}
        return subprocess.run([SYSTEM_PYTHON, "-I", str(bundle), "--config", str(tmp_path / "bluegreen.yml"),
                               *(args or ("config", "check"))], env=env, text=True, capture_output=True, timeout=60)
    go.cache = cache
    return go


def tree(bundle: Path, cache: Path) -> Path:
    digest = hashlib.sha256(bundle.read_bytes()).hexdigest()[:16]
    return cache / digest


def ok(result: subprocess.CompletedProcess) -> None:
    assert result.returncode == 0 and "PLANTED" not in result.stdout + result.stderr, result.stdout + result.stderr
    assert result.stderr == "", result.stderr


def test_the_archive_records_every_file_hash(bundle):
    """BUNDLE-MANIFEST.json names every other entry with its SHA-256."""
    import json

    with zipfile.ZipFile(bundle) as zf:
        manifest = json.loads(zf.read("BUNDLE-MANIFEST.json"))
        names = set(zf.namelist()) - {"BUNDLE-MANIFEST.json"}
        assert set(manifest) == names
        assert all(hashlib.sha256(zf.read(n)).hexdigest() == manifest[n] for n in sorted(names)[:50])


def test_a_file_planted_in_the_cache_never_runs(bundle, run):
    """A `json.py` beside the unpacked packages would be imported before the real one: the tree is unpacked
    again instead, and the planted file is gone."""
    ok(run())
    target = tree(bundle, run.cache)
    (target / "json.py").write_text("import sys; sys.stderr.write('PLANTED\\n'); raise SystemExit(99)\n")
    (target / "bluegreen" / "sitecustom.py").write_text("x = 1\n")
    ok(run())
    assert not (target / "json.py").exists() and not (target / "bluegreen" / "sitecustom.py").exists()


def test_a_deleted_file_is_put_back(bundle, run):
    """A file removed from the cache (which used to break every later run) is unpacked again."""
    ok(run())
    target = tree(bundle, run.cache)
    (target / "bluegreen" / "cli" / "app.py").unlink()
    ok(run())
    assert (target / "bluegreen" / "cli" / "app.py").is_file()


@pytest.mark.parametrize("how", ["appended", "replaced by a symlink", "compiled cache dir opened to the group"])
def test_a_tampered_file_is_put_back(bundle, run, how, tmp_path):
    """A module edited in the cache (or swapped for a symlink, or its __pycache__ made group-writable) does not
    run: the tree is checked against the archive's hashes and unpacked again."""
    ok(run())
    target = tree(bundle, run.cache)
    units = target / "bluegreen" / "units.py"
    original = units.read_bytes()
    evil = b"import sys; sys.stderr.write('PLANTED\\n'); raise SystemExit(99)\n"
    if how == "appended":
        units.write_bytes(original + b"\n" + evil)
    elif how == "replaced by a symlink":
        (tmp_path / "evil.py").write_bytes(evil)
        units.unlink()
        units.symlink_to(tmp_path / "evil.py")
    else:
        (target / "bluegreen" / "__pycache__").chmod(0o775)
    ok(run())
    assert units.read_bytes() == original and not units.is_symlink()
    assert not (target / "bluegreen" / "__pycache__").stat().st_mode & 0o022


@pytest.mark.parametrize("unsafe", ["group-writable", "world-writable sticky", "another user's"])
def test_a_cache_root_others_can_write_is_not_used(bundle, run, unsafe):
    """A cache root writable by group or others (a shared /tmp-like directory) or not ours: this run uses a private
    tree of its own (removed afterwards) and never imports from the shared one."""
    if unsafe == "another user's" and os.geteuid() != 0:
        pytest.skip("chown needs root")
    ok(run())
    target = tree(bundle, run.cache)
    (target / "json.py").write_text("import sys; sys.stderr.write('PLANTED\\n')\n")
    if unsafe == "group-writable":
        run.cache.chmod(0o775)
    elif unsafe == "world-writable sticky":
        run.cache.chmod(0o1777)
    else:
        os.chown(run.cache, 12345, 12345)
    ok(run())
    assert (target / "json.py").exists()  # not touched: not ours to repair


def test_concurrent_first_runs_on_a_tampered_cache_all_succeed(bundle, run, tmp_path):
    """Several runs at once find the tree tampered: each sees the old tree or the new one, never half of one."""
    ok(run())
    target = tree(bundle, run.cache)
    (target / "bluegreen" / "cli" / "app.py").write_text("raise SystemExit(99)\n")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "BLUEGREEN_CACHE_DIR": str(run.cache)}
    procs = [subprocess.Popen([SYSTEM_PYTHON, "-I", str(bundle), "--config", str(tmp_path / "bluegreen.yml"),
                               "config", "check"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for _ in range(4)]
    assert [p.wait(timeout=60) for p in procs] == [0, 0, 0, 0]
    ok(run())
    assert sorted(p.name for p in run.cache.iterdir()) == [".lock", target.name]  # no scratch or stale tree left


def test_the_bundle_is_reproducible(bundle, tmp_path):
    """The manifest keeps the archive byte-for-byte reproducible (`make bundle-check` compares bytes)."""
    again = tmp_path / "again.pyz"
    subprocess.run([sys.executable, str(REPO / "scripts" / "build-bundle.py"), "--out", str(again)], check=True,
                   capture_output=True)
    assert again.read_bytes() == bundle.read_bytes()
