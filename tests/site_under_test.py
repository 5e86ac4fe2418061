"""A bluegreen-managed service on a test stack: its config file, its nginx wiring, and the real CLI.

The CLI runs as a separate process (`python -m bluegreen`), as Jenkins runs it, so that tests can SIGKILL it,
read its exit code and look at every process's argv.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Callable

import httpx
import yaml

from helpers import wait_until
from stack import Stack

UPSTREAM = "bgt_backend"
UPSTREAM_FILE = f"/etc/nginx/conf.d/{UPSTREAM}.upstream.conf"
PLACEHOLDER = f"upstream {UPSTREAM} {{ server 127.0.0.1:9 down; }}\n"  # before the first deploy
SITE = f"""server {{
    listen 80 default_server;
    location / {{ proxy_pass http://{UPSTREAM}; }}
}}
"""
# switch: shared-dict: the server block proxies to the variable bluegreen's file defines (the placeholder defines
# it too, so nginx starts before the first deploy).
DICT_PLACEHOLDER = f"map $host ${UPSTREAM} {{ default {UPSTREAM}; }}\n" + PLACEHOLDER
DICT_SITE = SITE.replace(f"http://{UPSTREAM};", f"http://${UPSTREAM};")
# Optional pass-through variables: set one in a deploy's env to give that release a behaviour.
APP_KNOBS = ("APP_HEALTH", "APP_HEALTH_DELAY", "APP_START_DELAY", "APP_DIE_AFTER", "APP_FAIL_AFTER",
             "APP_FAIL_HEALTH", "APP_SLOW_AFTER", "APP_SLOW_MS")
SECRET = "pg://maice:Sup3r-S3cret-Valu3@db/maice"


class Site:
    def __init__(self, stack: Stack, tmp_path: Path, *, health: dict | None = None,
                 nginx: dict | None = None, service: dict | None = None, wire_nginx: bool = True) -> None:
        self.stack = stack
        self.dir = tmp_path
        self.state_dir = tmp_path / "state"
        self.config_path = tmp_path / "bluegreen.yml"
        env = {"DATABASE_URL": {"credential": "maice-database-url"}}
        env.update({k: {"optional": True, "secret": False} for k in APP_KNOBS})
        self.config = {
            "version": 1, "network": stack.network, "state_dir": str(self.state_dir),
            "nginx": {"container": stack.nginx_name, "public_url": stack.public_url, "reload_timeout": "3s",
                      **(nginx or {})},
            "services": {"backend": {
                "image": "bluegreen-test/app:${APP_TAG}", "container_prefix": stack.prefix, "port": 8000,
                "upstream": UPSTREAM, "upstream_file": UPSTREAM_FILE,
                "health": {"path": "/health/simple", "public_path": "/health", "interval": "0.2s",
                           "timeout": "8s", "successes": 2, "request_timeout": "2s", **(health or {})},
                "stop_timeout": "2s", "restart": "no", "env": env, **(service or {}),
            }},
        }
        shared_dict = (nginx or {}).get("switch") == "shared-dict"
        if shared_dict:
            self.config["nginx"]["admin_dir"] = stack.admin_dir
        self.write_config()
        if not wire_nginx:  # the test lays nginx out itself (tests/guide_layout.py: the guide's own setup)
            return
        stack.write_nginx_file(f"conf.d/{UPSTREAM}.upstream.conf", DICT_PLACEHOLDER if shared_dict else PLACEHOLDER)
        stack.write_nginx_file("conf.d/default.conf", DICT_SITE if shared_dict else SITE)
        stack.reload_nginx()

    def write_config(self) -> None:
        self.config_path.write_text(yaml.safe_dump(self.config, sort_keys=False))

    def container(self, color: str) -> str:
        return f"{self.stack.prefix}-{color}"

    def env(self, **extra: str) -> dict[str, str]:
        base = {k: v for k, v in os.environ.items() if not k.startswith(("BLUEGREEN_", "APP_"))}
        return {**base, "BLUEGREEN_CONFIG": str(self.config_path), "BLUEGREEN_LANG": "en",
                "DATABASE_URL": SECRET, **extra}

    def bg(self, *args: str, timeout: float = 120, **env: str) -> subprocess.CompletedProcess:
        """Run the CLI to completion; returns the completed process (never raises on exit codes)."""
        return subprocess.run([sys.executable, "-m", "bluegreen", *args], env=self.env(**env), text=True,
                              capture_output=True, timeout=timeout)

    def spawn(self, *args: str, **env: str) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "bluegreen", *args], env=self.env(**env), text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def deploy(self, version: str, **env: str) -> subprocess.CompletedProcess:
        return self.bg("deploy", "backend", APP_TAG=version, **env)

    def status(self) -> tuple[int, dict]:
        result = self.bg("status", "backend", "--json")
        return result.returncode, json.loads(result.stdout)

    def history(self) -> list[dict]:
        return json.loads(self.bg("history", "backend", "--json").stdout)

    def upstream_text(self) -> str:
        return self.stack.read_nginx_file(f"conf.d/{UPSTREAM}.upstream.conf")

    def running_names(self) -> set[str]:
        containers = self.stack.client.containers.list(filters={"name": self.stack.prefix}, ignore_removed=True)
        return {c.name for c in containers}


def give_up_sooner(site: Site) -> Site:
    """A 3 s health deadline (not 8) for a deploy whose candidate never gets healthy: the test waits it out, and
    3 s is still ample for the app to answer (it listens within a second), so the failure named is its answer."""
    site.config["services"]["backend"]["health"]["timeout"] = "3s"
    site.write_config()
    return site


def run_paused(site: Site, point: str, meanwhile: Callable[[], None], *args: str,
               **env: str) -> subprocess.CompletedProcess:
    """Run the CLI paused at failpoint `point`, run `meanwhile` (what someone does at that instant), then let it
    finish."""
    marker = site.dir / f"{point.split('#')[0]}.paused"
    proc = site.spawn(*args, BLUEGREEN_FAILPOINT=f"{point}:pause", BLUEGREEN_FAILPOINT_DIR=str(site.dir), **env)
    try:
        wait_until(marker.exists, 60, f"the run paused at {point}")
        meanwhile()
    finally:
        marker.unlink(missing_ok=True)
    stdout, stderr = proc.communicate(timeout=180)
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)


ELSEWHERE = "conf.d/zz-elsewhere.conf"


def name_elsewhere(site: Site, host: str) -> None:
    """Another site nginx serves proxies straight to `host` (a color's container), outside bluegreen's file; nginx
    loads it (a hand reload)."""
    site.stack.write_nginx_file(ELSEWHERE, "server {\n    listen 8082;\n    location / {\n"
                                           f"        proxy_pass http://{host}:8000;\n    }}\n}}\n")
    hand_reload(site)


def socket_call(site: Site, method: str, body: str | None = None) -> dict:
    """One request on nginx's admin socket (switch: shared-dict), as an operator's curl would make it: with the
    header line of bluegreen's key file (`curl -H @<state_dir>/backend.admin.key`)."""
    name, _, key = (site.state_dir / "backend.admin.key").read_text().strip().partition(": ")
    transport = httpx.HTTPTransport(uds=os.path.join(site.stack.admin_dir, f"{UPSTREAM}.sock"))
    with httpx.Client(transport=transport, base_url="http://bluegreen", headers={name: key}) as client:
        return client.request(method, "/color", content=body).json()


def version(site: Site) -> str | None:
    """The release the public entry serves now."""
    return httpx.get(site.stack.public_url + "/", timeout=2).headers.get("X-App-Version")


def hand_reload(site: Site) -> None:
    """`nginx -s reload` by hand, the same file: nginx runs new worker processes."""
    before = site.stack.nginx_worker_pids()
    assert site.stack.nginx_exec("nginx", "-s", "reload")[0] == 0
    wait_until(lambda: not site.stack.nginx_worker_pids() <= before, 10, "new nginx workers")


def killed_rollback_is_repaired(site: Site, request_loop, point: str, left: set[str]) -> None:
    """SIGKILL a rollback at failpoint `point` under traffic: status names exactly `left`, the next rollback
    completes (blue, v1, consistent) and no request failed."""
    loop = request_loop(site.stack.public_url + "/", interval=0.02)
    killed = site.bg("rollback", "backend", BLUEGREEN_FAILPOINT=point)
    assert killed.returncode == -9, killed.stdout + killed.stderr
    code, doc = site.status()
    assert code == 3 and {p["id"] for p in doc["problems"]} == left, doc["problems"]
    again = site.bg("rollback", "backend")
    assert again.returncode == 0, again.stdout + again.stderr
    assert loop.stop().failures == []
    code, doc = site.status()
    assert code == 0 and doc["active"] == "blue" and version(site) == "v1", doc["problems"]
