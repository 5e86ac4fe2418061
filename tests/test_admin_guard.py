"""Who may speak on nginx's admin socket (`switch: shared-dict`), on the real stack: only bluegreen, with its key —
an unprivileged user of this host is refused (HTTP 403, traffic unmoved) whatever the directory's mode: 0755, 0777,
or the one Docker creates for a missing bind-mount source (root, 0755: what every boot gives, /run being a tmpfs).
`status` names a loose directory with its fix; the next operation makes it bluegreen's again (0700); bluegreen never
sends its key to a socket nginx did not create. The rollback's quick path keeps working once the directory is sound.

The attacker runs as `nobody` (setpriv) with curl, exactly as an operator's hand switch would be typed; the admin
directory lives directly under /tmp so that `nobody` can reach it at all (a 403, not a permission error, is what
proves the socket refused them)."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import stat
import subprocess

import httpx
import pytest

from helpers import wait_until
from site_under_test import Site, UPSTREAM, socket_call, version
from stack import Stack

NOBODY = 65534


def as_nobody(*argv: str, timeout: float = 10) -> subprocess.CompletedProcess:
    return subprocess.run(["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", *argv],
                          capture_output=True, text=True, timeout=timeout)


def curl_status(sock: str, *args: str, path: str = "/color") -> str:
    """The HTTP status `nobody` gets on the socket ("000": could not connect)."""
    return as_nobody("curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "5", "--unix-socket", sock,
                     *args, f"http://x{path}").stdout


def mode_of(path: str) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def open_site(docker_client, images, nginx_njs_image, tmp_path, request):
    """Factory: open_site(made) -> a shared-dict site (green v2 serving, blue v1 kept) whose admin directory is
    /tmp/bgt-…-admin: created by the test (`made`: "0755" or "0777") or by Docker for the missing bind-mount source
    ("docker")."""
    stacks: list[Stack] = []
    admin = f"/tmp/bgt-{secrets.token_hex(4)}-admin"

    def make(made: str) -> Site:
        if made != "docker":
            os.mkdir(admin)
            os.chmod(admin, int(made, 8))
        stack = Stack(docker_client, images, nginx_image=nginx_njs_image, admin_dir=admin)
        stacks.append(stack)
        stack.start()
        if made == "docker":
            st = os.stat(admin)
            assert (st.st_uid, mode_of(admin)) == (0, 0o755)  # what Docker makes of a missing source
        site = Site(stack, tmp_path, nginx={"switch": "shared-dict"})
        first = site.deploy("v1")
        assert first.returncode == 0, first.stdout + first.stderr
        assert f"The admin directory {admin} was mode {int(made, 8) if made != 'docker' else 0o755:04o}: " \
               "set to 0700" in first.stdout
        second = site.deploy("v2")
        assert second.returncode == 0, second.stdout + second.stderr
        assert mode_of(admin) == 0o700
        return site

    yield make
    for stack in stacks:
        stack.close()
    shutil.rmtree(admin, ignore_errors=True)


def loosen(site: Site, made: str) -> None:
    """The directory loose again: someone's chmod, or a reboot (the directory gone, Docker makes it at nginx's
    start: root, 0755; the dictionary is empty, the file's color serves)."""
    admin = site.stack.admin_dir
    if made != "docker":
        os.chmod(admin, int(made, 8))
        return
    site.stack.nginx.stop(timeout=5)
    shutil.rmtree(admin)
    site.stack.restart_nginx()
    site.config["nginx"]["public_url"] = site.stack.public_url
    site.write_config()
    wait_until(lambda: os.path.exists(os.path.join(admin, f"{UPSTREAM}.sock")), 15, "nginx's socket again")
    assert (os.stat(admin).st_uid, mode_of(admin)) == (0, 0o755)


def rollback(site: Site) -> dict:
    report = site.dir / f"rollback-{secrets.token_hex(2)}.json"
    result = site.bg("rollback", "backend", "--report", str(report))
    assert result.returncode == 0, result.stdout + result.stderr
    doc = json.loads(report.read_text())
    doc["stdout"] = result.stdout
    return doc


@pytest.mark.parametrize("made", ["0755", "0777", "docker"])
def test_only_bluegreen_moves_traffic_whatever_the_directorys_mode(open_site, made):
    """`nobody` reaches the socket and is refused: no color moves, nothing is read, no color is probed. status
    names the loose directory and its fix; the next rollback makes it 0700 again (the full path: the quick one
    never speaks in a loose directory), and the one after takes the quick path again."""
    site = open_site(made)
    loosen(site, made)
    sock = os.path.join(site.stack.admin_dir, f"{UPSTREAM}.sock")
    assert curl_status(sock, "-X", "PUT", "--data", "blue") == "403"
    assert curl_status(sock) == "403"
    assert curl_status(sock, path="/probe/blue") == "403"
    assert version(site) == "v2"
    code, doc = site.status()
    problems = {p["id"]: p for p in doc["problems"]}
    assert code == 3 and doc["active"] == "green", doc
    assert problems["admin_dir_open"]["repairable"], problems
    assert f"chmod 700 {site.stack.admin_dir}" in problems["admin_dir_open"]["message"]
    first = rollback(site)
    assert "set to 0700" in first["stdout"] and "quick_look" not in first["phases"], first
    assert mode_of(site.stack.admin_dir) == 0o700 and version(site) == "v1"
    assert site.status()[0] == 0
    second = rollback(site)
    assert "quick_look" in second["phases"] and version(site) == "v2", second


def test_a_socket_planted_in_an_open_directory_never_gets_the_key(open_site, tmp_path):
    """In a directory of mode 0777 `nobody` moves nginx's socket aside and listens in its place: status will not
    speak to it and says so; a rollback makes the directory 0700, then refuses (exit 3, nothing changed) — and the
    planted socket never received a byte, so the key stayed bluegreen's."""
    site = open_site("0777")
    loosen(site, "0777")
    admin = site.stack.admin_dir
    sock = os.path.join(admin, f"{UPSTREAM}.sock")
    caught = f"{admin}.caught"
    with open(caught, "wb"):
        pass
    os.chown(caught, NOBODY, NOBODY)
    assert as_nobody("mv", sock, os.path.join(admin, ".aside.sock")).returncode == 0
    listener = subprocess.Popen(
        ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "/usr/bin/python3", "-c",
         "import socket, sys\n"
         "s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(); s.settimeout(60)\n"
         "while True:\n"
         "    c, _ = s.accept(); c.settimeout(2)\n"
         "    open(sys.argv[2], 'ab').write(c.recv(65536) or b'(connected)')\n",
         sock, caught])
    try:
        wait_until(lambda: os.stat(sock).st_uid == NOBODY, 10, "the planted socket")
        code, doc = site.status()
        assert code == 3 and "admin_unfit_dir" in {p["id"] for p in doc["problems"]}, doc["problems"]
        refused = site.bg("rollback", "backend")
        assert refused.returncode == 3 and "will not speak" in refused.stderr, refused.stdout + refused.stderr
        assert mode_of(admin) == 0o700 and version(site) == "v2"
    finally:
        listener.kill()
        listener.wait(5)
    with open(caught, "rb") as planted:
        assert planted.read() == b""
    os.unlink(caught)


def test_a_lost_key_is_named_then_replaced_by_the_next_rollback(dict_site):
    """The key file removed (a wiped state_dir): status says nginx refuses bluegreen's key and still names the
    color from the loaded file; the next rollback makes a new key and gives nginx its digest with the switch (one
    reload); the old key is refused from then on."""
    site = dict_site
    key_file = site.state_dir / "backend.admin.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    old = key_file.read_text()
    key_file.unlink()
    code, doc = site.status()
    problems = {p["id"]: p for p in doc["problems"]}
    assert code == 3 and doc["active"] == "green" and problems["admin_refused"]["repairable"], doc
    result = site.bg("rollback", "backend")
    assert result.returncode == 0 and "New admin key" in result.stdout, result.stdout + result.stderr
    assert version(site) == "v1" and site.status()[0] == 0
    assert socket_call(site, "GET")["color"] == "blue"  # the new key
    new = key_file.read_text()
    key_file.write_text(old)
    try:
        with pytest.raises(ValueError):  # 403: nginx's HTML page, not the JSON answer
            socket_call(site, "GET")
    finally:
        key_file.write_text(new)


def test_a_container_beside_nginx_reaches_neither_the_preview_nor_the_switch(dict_site, python_image):
    """A staged color answers on the preview entry from this host (the published port) and to no other container on
    nginx's network: 403 on the preview port, whatever it asks; nothing it sends to nginx moves traffic (the admin
    server listens on the unix socket only)."""
    site = dict_site
    staged = site.bg("deploy", "backend", "--stage", APP_TAG="v3")
    assert staged.returncode == 0, staged.stdout + staged.stderr
    assert httpx.get(site.stack.preview_url + "/", timeout=5).headers.get("X-App-Version") == "v3"
    nginx = site.stack.nginx_name
    asks = [("GET", f"http://{nginx}:8081/"), ("PUT", f"http://{nginx}:8081/color"),
            ("PUT", f"http://{nginx}:80/color"), ("GET", f"http://{nginx}:8081/probe/blue")]
    script = ("import sys, urllib.request, urllib.error\n"
              "for method, url in zip(sys.argv[1::2], sys.argv[2::2]):\n"
              "    req = urllib.request.Request(url, data=b'blue' if method == 'PUT' else None, method=method)\n"
              "    try:\n"
              "        with urllib.request.urlopen(req, timeout=5) as answer:\n"
              "            print(answer.status, answer.headers.get('X-App-Version'))\n"
              "    except urllib.error.HTTPError as exc:\n"
              "        print(exc.code, exc.headers.get('X-App-Version'))\n")
    out = site.stack.client.containers.run(
        python_image, ["python3", "-c", script, *[part for ask in asks for part in ask]],
        name=f"{site.stack.name}-neighbour", network=site.stack.network, remove=True).decode().split("\n")
    preview_get, preview_put, public_put, preview_probe = out[:4]
    assert [preview_get, preview_put, preview_probe] == ["403 None"] * 3, out
    assert public_put.endswith(" v2"), out  # the active app's own answer: nginx's public entry has no /color
    assert version(site) == "v2" and socket_call(site, "GET")["color"] == "green"
