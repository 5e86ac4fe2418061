"""One throw-away stack per fault row, built on the bench's BenchStack (network, names `bgc-<id>…`, cleanup).

Differences from the proof bench's stack, and why:
- nginx keeps its image's own nginx.conf: the access log is on (the post-deploy monitor reads it) and the 1.30
  image's `load_module` for njs stays (switch: shared-dict);
- the published port is fixed (chosen free here), so a restarted nginx container comes back on the same port and
  the load generator's numbers mean the gap, not a moved port;
- the public server includes /etc/nginx/chaos/*.loc, where a row adds a location (a failing public health path)
  without touching the file bluegreen owns;
- the upstream file lives in /etc/nginx/bg/conf.d, in the row that fills it a tiny host tmpfs bind-mounted there;
- the state directory is the row's own, optionally a tiny tmpfs on the host (faults.py mounts it).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import docker

from zdt.stack import APP_REPO, BenchStack, Nginx, _tar, write_backend_config

IMAGES = {"reload": "bluegreen-test/nginx:1", "shared-dict": "bluegreen-test/nginx:1.30"}
UPSTREAM = "bgc_backend"
BG_DIR = "/etc/nginx/bg/conf.d"  # a tmpfs in the nginx container: the file bluegreen owns (in a conf.d: the rule)
UPSTREAM_FILE = f"{BG_DIR}/{UPSTREAM}.upstream.conf"
LOC_DIR = "/etc/nginx/chaos"
PLACEHOLDER = f"upstream {UPSTREAM} {{ server 127.0.0.1:9 down; }}\n"
KNOBS = ("APP_HEALTH", "APP_DIE_AFTER", "APP_FAIL_AFTER", "APP_FAIL_HEALTH", "APP_START_DELAY")


def site_conf(mode: str) -> str:
    target = f"${UPSTREAM}" if mode == "shared-dict" else UPSTREAM
    return ("server {\n    listen 80 default_server;\n"
            f"    include {LOC_DIR}/*.loc;\n"
            f"    location / {{ proxy_pass http://{target}; }}\n}}\n"
            f"include {BG_DIR}/*.conf;\n")


def placeholder(mode: str) -> str:
    if mode == "shared-dict":  # the variable the server block proxies to exists before the first deploy
        return f"map $host ${UPSTREAM} {{ default {UPSTREAM}; }}\n" + PLACEHOLDER
    return PLACEHOLDER


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cli() -> list[str]:
    script = Path(sys.executable).with_name("bluegreen")
    return [str(script)] if script.exists() else [sys.executable, "-m", "bluegreen"]


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def first_line(self) -> str:
        """Failed: the line that says what went wrong (the last ❌), else the last warning; done or killed: the
        last line."""
        lines = [line.strip() for line in (self.stderr + "\n" + self.stdout).splitlines()
                 if line.strip() and line.strip("❌ℹ️✅⚠ =-")]  # not the banner rules
        if self.code in (0, -9):  # done, or killed: where it got to
            return (lines[-1] if lines else "")[:240]
        # the last ❌ line: the rollback banner starts with ❌ too, and the final error comes last
        for pick in (lambda ln: ln.startswith(("❌", "error", "Error")), lambda ln: ln.startswith("⚠️")):
            found = [line for line in lines if pick(line)]
            if found:
                return found[-1][:240]
        return (lines[-1] if lines else "")[:240]


class ChaosStack(BenchStack):
    repo = APP_REPO  # the releases' repository (:v1, :v2, :v3)
    image = None  # nginx's image: IMAGES[mode] when None

    def __init__(self, client: docker.DockerClient, workdir: Path, mode: str, tag: str) -> None:
        super().__init__(client, workdir)
        self.mode, self.tag = mode, tag
        self.name = self.network = f"bgc-{self.id}"
        self.dir = workdir / f"{tag}-{self.id}"
        self.dir.mkdir(parents=True)
        self.state_dir = self.dir / "state"
        self.admin_dir = self.dir / "admin"
        self.marker_dir = self.dir / "markers"
        self.marker_dir.mkdir()
        self.config_path = self.dir / "bluegreen.yml"
        self.config_host_dir = self.dir / "nginx-bg"  # row 13: a host tmpfs mounted into nginx at BG_DIR
        self.nginx_name = f"{self.name}-nginx"
        self.port = free_port()
        self.url = f"http://{self.publish_ip}:{self.port}"
        self.restart_policy = False  # row 11: nginx and the app restart with the engine (unless-stopped)

    def up(self, *, health_timeout: str = "5s", config_tmpfs: bool = False) -> "ChaosStack":
        self.start()
        volumes = None
        if self.mode == "shared-dict":
            self.admin_dir.mkdir(mode=0o700)
            volumes = {str(self.admin_dir): {"bind": str(self.admin_dir), "mode": "rw"}}
        seed = {f"{UPSTREAM}.upstream.conf": placeholder(self.mode)}
        if config_tmpfs:
            # A host tmpfs bind-mounted (a Docker `tmpfs` mount is invisible to the archive API bluegreen reads
            # files through); the caller mounted it at self.config_host_dir.
            volumes = {**(volumes or {}), str(self.config_host_dir): {"bind": BG_DIR, "mode": "rw"}}
            for name, text in seed.items():
                (self.config_host_dir / name).write_text(text, encoding="utf-8")
        c = self.client.containers.create(self.image or IMAGES[self.mode], name=self.nginx_name, network=self.network,
                                          ports={"80/tcp": (self.publish_ip, self.port)}, volumes=volumes,
                                          labels={"bluegreen.bench": self.id},
                                          **({"restart_policy": {"Name": "unless-stopped"}} if self.restart_policy
                                             else {}))
        c.put_archive("/etc/nginx/conf.d", _tar({"default.conf": self.site_conf()}))
        c.put_archive("/etc/nginx", _tar({"chaos/.keep": "",
                                          **({} if config_tmpfs else {f"bg/conf.d/{k}": v for k, v in seed.items()})}))
        c.start()
        wait(lambda: _answers(self.url), 15, f"{self.nginx_name} to answer on {self.url}")
        self.write_config(health_timeout)
        return self

    def site_conf(self) -> str:
        return site_conf(self.mode)

    def refresh_client(self) -> None:
        """A new Docker client after the engine restarted (the old one's pooled connections are dead)."""
        self.client = docker.from_env()

    @property
    def nginx(self) -> Nginx:
        return Nginx(self.nginx_name, self.url, self.port)

    def reload_nginx(self) -> None:
        code, out = self.exec(self.nginx_name, "nginx", "-s", "reload")
        if code != 0:
            raise RuntimeError(f"nginx -s reload: {out}")
        wait(lambda: _answers(self.url), 15, f"{self.nginx_name} to answer on {self.url}")

    def write_config(self, health_timeout: str) -> None:
        nginx = {"container": self.nginx_name, "public_url": self.url}
        if self.mode == "shared-dict":
            nginx.update(switch="shared-dict", admin_dir=str(self.admin_dir))
        write_backend_config(self.config_path, network=self.network, state_dir=self.state_dir, nginx=nginx,
                             prefix=f"{self.name}-app", upstream=UPSTREAM, upstream_file=UPSTREAM_FILE,
                             health_timeout=health_timeout, request_timeout="1s", stop_timeout="3s",
                             restart="unless-stopped" if self.restart_policy else "no",
                             env={k: {"optional": True, "secret": False} for k in KNOBS},
                             monitor={"interval": "1s"})

    def container(self, color: str) -> str:
        return f"{self.name}-app-{color}"

    # --- the CLI --------------------------------------------------------------------------------------------
    def env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        base = {k: v for k, v in os.environ.items() if not k.startswith(("BLUEGREEN_", "APP_"))}
        return {**base, "BLUEGREEN_CONFIG": str(self.config_path), "BLUEGREEN_LANG": "en",
                "BLUEGREEN_FAILPOINT_DIR": str(self.marker_dir), **(extra or {})}

    def spawn(self, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
        return subprocess.Popen([*cli(), *args], env=self.env(env), text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def bg(self, *args: str, env: dict[str, str] | None = None, timeout: float = 120) -> Result:
        start = time.monotonic()
        try:
            p = subprocess.run([*cli(), *args], env=self.env(env), text=True, capture_output=True, timeout=timeout)
            return Result(p.returncode, p.stdout, p.stderr, time.monotonic() - start)
        except subprocess.TimeoutExpired as exc:
            return Result(-1, str(exc.stdout or ""), f"timed out after {timeout:.0f} s", time.monotonic() - start)

    def deploy(self, version: str, *more: str, env: dict[str, str] | None = None) -> Result:
        return self.bg("deploy", "backend", "--image", f"{self.repo}:{version}", *more, env=env)

    def status(self) -> tuple[int, dict]:
        r = self.bg("status", "backend", "--json")
        try:
            return r.code, json.loads(r.stdout)
        except json.JSONDecodeError:
            return r.code, {"unreadable": (r.stderr or r.stdout)[-300:]}

    def history(self) -> list[dict] | None:
        r = self.bg("history", "backend", "--json", "--limit", "1000")
        try:
            return json.loads(r.stdout)
        except json.JSONDecodeError:
            return None

    # --- pausing a run at a failpoint -----------------------------------------------------------------------
    def wait_paused(self, point: str, proc: subprocess.Popen, timeout: float = 60) -> bool:
        """True once the run waits at `point`; False when it ended (or never got there) first."""
        marker = self.marker_dir / f"{point}.paused"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if marker.exists():
                return True
            if proc.poll() is not None:
                return False
            time.sleep(0.02)  # poll: the run is on its way to the point
        return False

    def resume(self, point: str) -> None:
        (self.marker_dir / f"{point}.paused").unlink(missing_ok=True)


def finish(proc: subprocess.Popen, timeout: float = 120) -> Result:
    start = time.monotonic()
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        return Result(-1, out, f"timed out after {timeout:.0f} s\n{err}", time.monotonic() - start)
    return Result(proc.returncode, out, err, time.monotonic() - start)


def wait(predicate, timeout: float, what: str, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)  # poll with a deadline


def _answers(url: str) -> bool:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url + "/", timeout=2):
            return True
    except urllib.error.HTTPError:
        return True  # any HTTP answer: nginx is up
    except OSError:
        return False
