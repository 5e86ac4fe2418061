"""The prototype's stack: a fresh network, two apps (blue = app:v1, green = app:v2) reachable as
`app-blue` / `app-green` (network aliases), and nginx 1.30 + njs published on 127.0.0.1 only.

Two ways to switch, on the same images and apps:
- `DictStack`: the shared-dict site (bluegreen.conf + bluegreen.js + app.upstream.conf from this
  directory); a switch is one PUT on the admin unix socket, bind-mounted from a 0700 host directory.
- `ReloadStack`: today's way; the upstream file names the active color and a switch rewrites it
  and runs `nginx -s reload` (optionally with `keepalive_min_timeout`).

Everything is named `bgp-<id>…` and removed by `close()`.
"""
from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import docker
import httpx

HERE = Path(__file__).resolve().parent
NGINX_IMAGE = os.environ.get("BGP_NGINX_IMAGE", "bluegreen-test/nginx:1.30")
APP_IMAGES = {"blue": "bluegreen-test/app:v1", "green": "bluegreen-test/app:v2"}
OTHER = {"blue": "green", "green": "blue"}


def wait_for(predicate, timeout: float, what: str, interval: float = 0.02):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
            last = value
        except Exception as exc:  # noqa: BLE001 - "not yet"
            last = exc
        time.sleep(interval)
    raise TimeoutError(f"timed out waiting for {what} (last: {last!r})")


def write_atomic(path: Path, text: str) -> None:
    """Write beside, then rename: the bind-mounted *directory* sees the new inode."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


class Stack:
    def __init__(self, client: docker.DockerClient, *, nginx_image: str = NGINX_IMAGE) -> None:
        self.client = client
        self.nginx_image = nginx_image
        self.id = secrets.token_hex(3)
        self.name = f"bgp-{self.id}"
        self.work = Path(tempfile.mkdtemp(prefix=f"{self.name}-"))
        self.conf_dir = self.work / "conf.d"
        self.conf_dir.mkdir()
        self.port = 0
        self.nginx = None
        self.apps: dict = {}

    # ------------------------------------------------------------ lifecycle
    def start(self, **nginx_kwargs) -> "Stack":
        self.network = self.client.networks.create(self.name, driver="bridge")
        for color in APP_IMAGES:
            self.run_app(color)
        self.write_site()
        self.nginx = self.client.containers.run(
            self.nginx_image, name=f"{self.name}-nginx", detach=True, network=self.name,
            ports={"80/tcp": ("127.0.0.1", None)}, volumes=self.volumes(), **nginx_kwargs,
        )
        self.wait_nginx()
        return self

    def wait_nginx(self, timeout: float = 15) -> None:
        """Wait until nginx proxies; the host port is re-read (a restart may change it)."""
        def up() -> bool:
            self.nginx.reload()
            self.port = int(self.nginx.attrs["NetworkSettings"]["Ports"]["80/tcp"][0]["HostPort"])
            return httpx.get(self.url, timeout=1).status_code == 200

        wait_for(up, timeout, "nginx to proxy")

    def close(self) -> None:
        for c in self.client.containers.list(all=True, filters={"name": self.name}):
            if c.name.startswith(self.name):
                c.remove(force=True)
        try:
            self.client.networks.get(self.name).remove()
        except docker.errors.NotFound:
            pass
        shutil.rmtree(self.work, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def run_app(self, color: str, image: str | None = None):
        """(Re)create the app of `color` (alias app-<color>) and wait until it listens."""
        app = self.client.containers.run(
            image or APP_IMAGES[color], name=f"{self.name}-app-{color}", detach=True,
            environment={"BLUEGREEN_COLOR": color}, network=self.name,
            networking_config={self.name: self.client.api.create_endpoint_config(
                aliases=[f"app-{color}"])},
        )
        wait_for(lambda: b"listening on" in app.logs(), 10, f"{app.name} to listen")
        self.apps[color] = app
        return app

    # ------------------------------------------------------------ helpers
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def volumes(self) -> dict:
        return {str(self.conf_dir): {"bind": "/etc/nginx/conf.d", "mode": "rw"}}

    def exec(self, *cmd: str) -> tuple[int, str]:
        code, out = self.nginx.exec_run(list(cmd))
        return code, out.decode(errors="replace")

    def served_color(self) -> str:
        return httpx.get(self.url, timeout=2).headers["X-App-Color"]

    def restart_nginx(self) -> None:
        self.nginx.restart(timeout=5)
        self.wait_nginx()


class DictStack(Stack):
    """The shared-dict site; the admin socket lives in a 0700 host directory."""

    def __init__(self, client, *, default_color: str = "blue", state_file: str | None = None,
                 upstream_template: str = "app.upstream.conf", **kw) -> None:
        super().__init__(client, **kw)
        self.upstream_template = upstream_template
        self.default_color = default_color
        self.state_file = state_file
        self.js_dir = self.work / "js"
        self.js_dir.mkdir()
        self.sock_dir = self.work / "admin"
        self.sock_dir.mkdir(mode=0o700)
        os.chmod(self.sock_dir, 0o700)  # mkdir's mode is filtered by the umask
        self.sock = self.sock_dir / "admin.sock"
        # One connection per request, like the CLI (a new process per switch) would.
        self.admin = httpx.Client(transport=httpx.HTTPTransport(uds=str(self.sock)),
                                  base_url="http://bluegreen", timeout=5,
                                  limits=httpx.Limits(max_keepalive_connections=0))

    def volumes(self) -> dict:
        return {**super().volumes(),
                str(self.js_dir): {"bind": "/etc/nginx/bluegreen", "mode": "ro"},
                str(self.sock_dir): {"bind": "/run/bluegreen", "mode": "rw"}}

    def site_text(self) -> str:
        text = (HERE / "bluegreen.conf").read_text()
        if self.state_file:
            text = text.replace("js_shared_dict_zone zone=bluegreen:64k type=string;",
                                "js_shared_dict_zone zone=bluegreen:64k type=string "
                                f"state={self.state_file};")
        return text

    def write_site(self) -> None:
        shutil.copy(HERE / "bluegreen.js", self.js_dir / "bluegreen.js")
        write_atomic(self.conf_dir / "bluegreen.conf", self.site_text())
        self.write_default_color(self.default_color)

    def write_default_color(self, color: str) -> None:
        """Render the upstream file with `js_var $bg_default_color <color>;` (no reload)."""
        text = (HERE / self.upstream_template).read_text()
        text = text.replace("js_var $bg_default_color blue;", f"js_var $bg_default_color {color};")
        write_atomic(self.conf_dir / "app.upstream.conf", text)
        self.default_color = color

    def close(self) -> None:
        self.admin.close()
        super().close()

    # ------------------------------------------------------------ the admin endpoint
    def get(self) -> dict:
        return self.admin.get("/color").raise_for_status().json()

    def switch(self, color: str) -> dict:
        return self.admin.put("/color", content=color).raise_for_status().json()

    def clear(self) -> dict:
        return self.admin.delete("/color").raise_for_status().json()

    def switch_with_curl(self, color: str) -> None:
        subprocess.run(["curl", "-sS", "--fail", "--unix-socket", str(self.sock), "-X", "PUT",
                        "--data", color, "http://bluegreen/color"],
                       check=True, stdout=subprocess.DEVNULL)


RELOAD_SITE = """\
# Today's way: the upstream file names the active color; a switch rewrites it and reloads.
upstream app_backend {{
    server app-{active}:8000;
    server app-{backup}:8000 backup;
}}
server {{
    listen 80 default_server;
    server_name _;
{extra}
    location / {{
        proxy_pass http://app_backend;
        proxy_set_header Host $host;
    }}
}}
"""


class ReloadStack(Stack):
    def __init__(self, client, *, keepalive_min_timeout: str | None = None, **kw) -> None:
        super().__init__(client, **kw)
        self.extra = f"    keepalive_min_timeout {keepalive_min_timeout};\n" if keepalive_min_timeout else ""
        self.active = "blue"

    def write_site(self) -> None:
        write_atomic(self.conf_dir / "default.conf",
                     RELOAD_SITE.format(active=self.active, backup=OTHER[self.active], extra=self.extra))

    def switch(self, color: str) -> None:
        self.active = color
        self.write_site()
        code, out = self.exec("nginx", "-s", "reload")
        if code != 0:
            raise RuntimeError(f"reload failed: {out}")
