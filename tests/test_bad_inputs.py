"""Bad input against a real deployed site (blue and green running, green active), through the real CLI: corrupt,
symlinked or unsafe state, report paths that cannot be written, bad config values, nginx files nobody loaded.
Each is refused with its documented exit code and one line on stderr, and nothing changed: the nginx file,
nginx's workers (no reload), the containers and the state directory. One deploy per module keeps it fast; the
tests that change something on purpose (adopting a hand edit, a rollback) come last.

The corpus is tests/bad_inputs/ (expected.json says what each file must give); the in-process side of it is
tests/unit/test_bad_input_corpus.py.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest

from helpers import wait_until
import yaml

from site_under_test import UPSTREAM, Site
from stack import Stack

CORPUS = Path(__file__).resolve().parent / "bad_inputs"
EXPECTED = json.loads((CORPUS / "expected.json").read_text())
COMMANDS = (("deploy", "backend"), ("rollback", "backend"), ("status", "backend"))


@pytest.fixture(scope="module")
def site(docker_client, images, tmp_path_factory):
    """One stack for the module: v1 on blue, then v2 on green (active), blue kept as the rollback target."""
    stack = Stack(docker_client, images)
    try:
        stack.start()
        site = Site(stack, tmp_path_factory.mktemp("bad-inputs"))
        for tag in ("v1", "v2"):
            result = site.deploy(tag)
            assert result.returncode == 0, result.stdout + result.stderr
        yield site
    finally:
        stack.close()


def snapshot(site: Site) -> dict:
    """What must not change: the nginx file, nginx's workers (a reload starts new ones), the containers, and every
    file in the state directory."""
    containers = site.stack.client.containers.list(all=True, filters={"name": site.stack.prefix}, ignore_removed=True)
    return {
        "upstream": site.stack.nginx_exec("cat", f"/etc/nginx/conf.d/{UPSTREAM}.upstream.conf"),
        "workers": site.stack.nginx_worker_pids(),
        "containers": {c.name: (c.id, c.status) for c in containers},
        "state": {p.name: (p.read_bytes() if p.is_file() and not p.is_symlink() else os.readlink(p)
                           if p.is_symlink() else "dir") for p in sorted(site.state_dir.iterdir())},
        "mode": oct(site.state_dir.lstat().st_mode),
    }


def refused(site: Site, args: tuple[str, ...], code: int, says: str, *, recorded: bool = False, **env: str) -> str:
    """Run the real CLI: the documented exit code, one line on stderr saying `says`, no traceback, nothing
    changed (`recorded`: but one history entry, for a refusal the operation frame records). Returns the line."""
    before = snapshot(site)
    result = site.bg(*args, APP_TAG="v3", **env)
    assert result.returncode == code, f"{args}: {result.stdout}{result.stderr}"
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and says in lines[0], f"{args}: {result.stderr}"
    assert "Traceback" not in result.stdout + result.stderr and "internal error" not in result.stderr
    after = snapshot(site)
    if recorded:
        old, new = before["state"].pop("backend.history.jsonl", b""), after["state"].pop("backend.history.jsonl")
        assert new.startswith(old) and json.loads(new[len(old):])["result"] == "refused", args
    assert after == before, args
    return lines[0]


def planted(site: Site, suffix: str, data: bytes | None):
    """Put `data` in place of the service's state file (None: remove it); returns a function that puts back."""
    path = site.state_dir / f"backend.{suffix}"
    saved = path.read_bytes() if path.exists() else None
    if path.is_symlink() or path.is_file():
        path.unlink()
    if data is not None:
        path.write_bytes(data)

    def restore() -> None:
        if path.is_symlink() or path.is_file():
            path.unlink()
        elif path.is_dir():
            shutil.rmtree(path)
        if saved is not None:
            path.write_bytes(saved)
    return restore


# --- corrupt state: exit 3, the file and the repair named, nothing changed -----------------------------------
def test_corrupt_state_json_refuses_deploy_rollback_and_status(site):
    """Every corpus state.json (not an object, torn, not UTF-8, wrong field types…) refuses each command with
    exit 3 naming the file and `mv` as the repair; never read as empty (which would refuse a valid rollback)."""
    names = sorted(n for n in EXPECTED if n.startswith("state/"))
    assert len(names) >= 20
    for i, name in enumerate(names):
        restore = planted(site, "state.json", (CORPUS / name).read_bytes())
        try:
            line = refused(site, COMMANDS[i % 3], 3, "backend.state.json")
            assert "mv " in line
        finally:
            restore()


def test_a_lock_holding_junk_refuses_with_exit_3(site):
    """A lock file bluegreen never wrote (a JSON list, a forged holder with a newline…): exit 3 naming it."""
    names = sorted(n for n in EXPECTED if n.startswith("lock/"))
    for i, name in enumerate(names):
        restore = planted(site, "lock", (CORPUS / name).read_bytes())
        try:
            refused(site, COMMANDS[i % 3], 3, "backend.lock")
        finally:
            restore()


def test_history_corruption_is_named_and_a_torn_last_line_is_normal(site):
    """`history` with a corrupt line: exit 3 naming the line; a torn last line: the entries before it."""
    for name in sorted(n for n in EXPECTED if n.startswith("history/")):
        expect = EXPECTED[name]
        restore = planted(site, "history.jsonl", (CORPUS / name).read_bytes())
        try:
            if expect["exit"]:
                refused(site, ("history", "backend"), expect["exit"], expect["says"])
            else:
                result = site.bg("history", "backend")
                assert result.returncode == 0 and result.stderr == "" and "\x1b" not in result.stdout, name
        finally:
            restore()


@pytest.mark.parametrize("suffix, command", [("state.json", ("deploy", "backend")),
                                             ("history.jsonl", ("rollback", "backend")),
                                             ("lock", ("deploy", "backend"))])
def test_a_symlinked_state_file_is_refused_and_its_target_untouched(site, tmp_path, suffix, command):
    """state.json, history or lock as a symlink (to a file someone wants overwritten): exit 3 naming it."""
    target = tmp_path / "victim"
    target.write_text("precious\n")
    path = site.state_dir / f"backend.{suffix}"
    restore = planted(site, suffix, None)
    path.symlink_to(target)
    try:
        refused(site, command, 3, f"backend.{suffix}")
        assert target.read_text() == "precious\n"
    finally:
        restore()


def test_a_state_dir_writable_by_others_is_refused(site):
    """state_dir with mode 0775 (group-writable): exit 3 with the chmod to run."""
    site.state_dir.chmod(0o775)
    try:
        assert "chmod go-w" in refused(site, ("rollback", "backend"), 3, str(site.state_dir))
    finally:
        site.state_dir.chmod(0o755)


def test_a_state_dir_that_is_a_symlink_is_refused(site, tmp_path):
    """A config whose state_dir is a symlink (to the real one): exit 3, naming where it points."""
    link = tmp_path / "state-link"
    link.symlink_to(site.state_dir)
    config = dict(site.config, state_dir=str(link))
    path = tmp_path / "bluegreen.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    refused(site, ("deploy", "backend"), 3, "symbolic link", BLUEGREEN_CONFIG=str(path))


# --- report paths: refused before anything changes --------------------------------------------------------------
@pytest.mark.parametrize("command, report", [
    (("deploy", "backend"), "/nonexistent/dir/r.json"),
    (("rollback", "backend"), "/"),
    (("deploy", "backend"), "{tmp}/fifo"),
    (("rollback", "backend"), "/proc/self/status"),
])
def test_a_report_path_that_cannot_be_written_is_refused_up_front(site, tmp_path, command, report):
    """--report in a missing directory, a directory, a FIFO, a /proc file: exit 2 before the deploy, not after."""
    os.mkfifo(tmp_path / "fifo")
    path = report.format(tmp=tmp_path)
    refused(site, (*command, "--report", path), 2, path)


# --- bad config values: refused at config time, not mid-deploy ---------------------------------------------------
@pytest.mark.parametrize("where, value, key", [
    (("nginx", "public_url"), "http://[::1", "nginx.public_url"),
    (("nginx", "public_url"), "http://127.0.0.1\r\nX: 1", "nginx.public_url"),
    (("services", "backend", "health", "interval"), "0s", "health.interval"),
    (("services", "backend", "health", "timeout"), float("inf"), "health.timeout"),
    (("services", "backend", "stop_timeout"), "1e400", "stop_timeout"),
    (("services", "backend", "drain_timeout"), "-1s", "drain_timeout"),
    (("services", "backend", "health", "path"), "/h\n", "health.path"),
    (("services", "backend", "volumes"), ["/:/host"], "volumes"),
    (("services", "backend", "image"), "$(touch /tmp/pwned)", "image"),
    (("services", "backend", "labels"), {"team\nx": "a"}, "labels"),
    (("services", "backend", "upstream_file"), "/etc/nginx/nginx.conf", "upstream_file"),
    (("nginx", "container"), None, "container_prefix"),  # nginx named like the idle color
])
def test_a_bad_config_value_is_refused_before_anything(site, tmp_path, where, value, key):
    """The live site's config with one bad value: exit 2 naming the key, no container started, no reload."""
    config = json.loads(json.dumps(site.config))
    node = config
    for part in where[:-1]:
        node = node[part]
    node[where[-1]] = value if value is not None else f"{site.stack.prefix}-blue"
    path = tmp_path / "bluegreen.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True))
    refused(site, ("deploy", "backend"), 2, key, BLUEGREEN_CONFIG=str(path))


def test_a_secret_expanded_into_a_bad_image_is_refused_masked(site, tmp_path):
    """`image: …:${DATABASE_URL}` puts the service's secret into an invalid reference, refused as the deploy
    begins: exit 2, nothing changed, and the refusal and the --report file show the secret masked."""
    config = json.loads(json.dumps(site.config))
    config["services"]["backend"]["image"] = "bluegreen-test/app:${DATABASE_URL}"
    path = tmp_path / "bluegreen.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    report = tmp_path / "report.json"
    line = refused(site, ("deploy", "backend", "--report", str(report)), 2, "--image", BLUEGREEN_CONFIG=str(path))
    written = report.read_text()
    assert "****" in line and "S3cret" not in line and "S3cret" not in written, line + written
    assert json.loads(written)["result"] == "rejected"


@pytest.mark.parametrize("args, says", [
    (("deploy", "backend", "--image", "bluegreen-test/app:v3\n--privileged"), "--image"),
    (("deploy", "backend", "--monitor", "25h"), "--monitor"),
    (("deploy", "backend", "--drain-timeout", "soon"), "--drain-timeout"),
    (("monitor", "backend", "--duration", "0"), "--duration"),
    (("history", "backend", "--limit", "0"), "--limit"),
    (("status", "backend\x1b[2J"), "backend\\x1b[2J"),
])
def test_a_bad_option_is_refused_before_anything(site, args, says):
    refused(site, args, 2, says)


@pytest.mark.parametrize("name", sorted(n for n in EXPECTED if n.startswith("upstream/")))
def test_an_upstream_file_nginx_has_not_loaded_is_never_switched_over(site, name):
    """The owned nginx file replaced by something nginx never loaded (garbage, NUL bytes, empty): deploy and
    rollback refuse (exit 3, with how to apply or undo it), nothing else changes."""
    original = site.upstream_text()
    site.stack.write_nginx_file(f"conf.d/{UPSTREAM}.upstream.conf", (CORPUS / name).read_bytes().decode("latin-1"))
    try:
        for command in (("deploy", "backend"), ("rollback", "backend")):
            refused(site, command, EXPECTED[name]["exit"], EXPECTED[name]["says"], recorded=True)
    finally:
        site.stack.write_nginx_file(f"conf.d/{UPSTREAM}.upstream.conf", original)
    code, status = site.status()
    assert code == 0 and status["active"] == "green"


# --- last: what changes something on purpose ------------------------------------------------------------------
def test_a_latin1_hand_edit_nginx_loaded_is_adopted_not_read_as_empty(site):
    """A hand edit in latin-1 that nginx loaded: status says so (exit 3), and a rollback adopts it and rolls back
    (never "no active environment" from a file read as empty)."""
    raw = site.upstream_text().encode() + "# edited by caf\xe9\n".encode("latin-1")
    import io
    import tarfile

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo(f"{UPSTREAM}.upstream.conf")
        info.size, info.mtime = len(raw), int(time.time())
        tar.addfile(info, io.BytesIO(raw))
    site.stack.nginx.put_archive("/etc/nginx/conf.d", buf.getvalue())
    site.stack.reload_nginx()
    # nginx loaded it (its new workers started after the file changed): polled until status sees the new workers
    code, status = wait_until(lambda: (lambda r: r if r[0] == 3 else None)(site.status()), 10, "status after the edit")
    assert status["active"] == "green" and {p["id"] for p in status["problems"]} == {"edited_outside"}
    result = site.bg("rollback", "backend", "--reason", "\x1b[31mbad\x1b[0m release\nforged: line")
    assert result.returncode == 0, result.stdout + result.stderr
    code, status = site.status()
    assert code == 0 and status["active"] == "blue"
    entry = site.history()[0]
    assert entry["action"] == "rollback" and entry["reason"] == "\\x1b[31mbad\\x1b[0m release\\nforged: line"
    shown = site.bg("history", "backend").stdout
    assert "\x1b" not in shown and "\\x1b[31mbad" in shown


def test_a_state_json_moved_aside_is_rebuilt_by_the_next_deploy(site):
    """The repair the message gives, as it says: with state.json moved aside, a rollback to a version deployed
    before is refused (nothing changes), the next deploy works and writes a new one, and rollbacks to versions
    deployed from then on work."""
    (site.state_dir / "backend.state.json").rename(site.state_dir / "backend.state.json.broken")
    result = site.bg("rollback", "backend")
    assert result.returncode == 1 and "unfinished candidate" in result.stderr.splitlines()[-1]
    for tag in ("v3", "v1"):
        result = site.deploy(tag)
        assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads((site.state_dir / "backend.state.json").read_text())["loaded_config"]
    result = site.bg("rollback", "backend")
    assert result.returncode == 0, result.stdout + result.stderr
    code, status = site.status()
    assert code == 0 and status["active"] == "green"
