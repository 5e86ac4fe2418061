"""A throw-away stack for one bench run: a Docker network, an nginx published on 127.0.0.1, a bluegreen.yml.

Everything is named `bgb-<id>…` (the app containers too, through `container_prefix`), and `close()` removes
every container whose name starts with that, then the network: nothing outlives the run.

nginx gets the test image's nginx.conf with two changes for measuring: `error_log stderr notice` (nginx then
logs every reload as "reconfiguring", which is how reloads per switch are counted) and no access log (a file
write per request would cost CPU that the load generator needs on a 2-core machine).
"""

from __future__ import annotations

import io
import re
import secrets
import tarfile
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import docker
import yaml

NGINX_IMAGE = "bluegreen-test/nginx:1"
APP_REPO = "bluegreen-test/app"
UPSTREAM = "bgb_backend"
PORT = 8000

NGINX_CONF = """user www-data;
daemon off;
worker_processes 2;
error_log stderr notice;
pid /run/nginx.pid;
events { worker_connections 4096; }
http {
    include mime.types;
    default_type application/octet-stream;
    access_log off;
    include /etc/nginx/conf.d/*.conf;
}
"""


def site_conf(upstream: str, *, keepalive_timeout: str | None = None) -> str:
    """The user's own server block: the public entry, proxying to the upstream bluegreen owns."""
    ka = f"    keepalive_timeout {keepalive_timeout};\n" if keepalive_timeout is not None else ""
    return ("server {\n    listen 80 default_server;\n" + ka +
            f"    location / {{ proxy_pass http://{upstream}; }}\n}}\n")


@dataclass
class Nginx:
    name: str
    url: str  # http://127.0.0.1:<published port>
    port: int


class BenchStack:
    def __init__(self, client: docker.DockerClient, workdir: Path) -> None:
        self.client = client
        self.id = secrets.token_hex(4)
        self.name = f"bgb-{self.id}"
        self.network = self.name
        self.workdir = workdir

    def start(self) -> "BenchStack":
        self.client.networks.create(self.network, driver="bridge", labels={"bluegreen.bench": self.id})
        return self

    # --- nginx ---------------------------------------------------------------------------------------------
    def nginx(self, suffix: str, files: dict[str, str]) -> Nginx:
        """An nginx container `bgb-<id>-<suffix>` with our nginx.conf and `files` in conf.d, answering."""
        name = f"{self.name}-{suffix}"
        c = self.client.containers.create(NGINX_IMAGE, name=name, network=self.network,
                                          ports={"80/tcp": ("127.0.0.1", None)},
                                          labels={"bluegreen.bench": self.id})
        c.put_archive("/etc/nginx", _tar({"nginx.conf": NGINX_CONF}))
        c.put_archive("/etc/nginx/conf.d", _tar({"default.conf": "", **files}))
        c.start()
        c.reload()
        port = int(c.attrs["NetworkSettings"]["Ports"]["80/tcp"][0]["HostPort"])
        return Nginx(name, f"http://127.0.0.1:{port}", port)

    def write(self, container: str, directory: str, files: dict[str, str]) -> None:
        self.client.containers.get(container).put_archive(directory, _tar(files))

    def exec(self, container: str, *cmd: str) -> tuple[int, str]:
        code, out = self.client.containers.get(container).exec_run(list(cmd))
        return code, out.decode(errors="replace")

    def reloads(self, container: str, since: float, until: float) -> int:
        """How many times nginx applied a new config (its notice "reconfiguring") in [since, until] (epoch s)."""
        logs = self.client.containers.get(container).logs(stdout=False, stderr=True, since=int(since),
                                                          until=int(until) + 1, timestamps=True)
        return sum(1 for line in logs.decode(errors="replace").splitlines()
                   if line.endswith(": reconfiguring") and since <= _epoch(line) <= until)

    def errors(self, container: str) -> dict[str, int]:
        """nginx's [error] lines by reason: upstream errors it answered 502 for, or resent to the next server."""
        logs = self.client.containers.get(container).logs(stdout=False, stderr=True)
        reasons: dict[str, int] = {}
        for line in logs.decode(errors="replace").splitlines():
            if "[error]" in line:
                text = line.split("[error]", 1)[1].split(", client:", 1)[0]
                reason = re.sub(r"^\s*\d+#\d+: (\*\d+ )?", "", text)
                reason = re.sub(r"\d+\.\d+\.\d+\.\d+(:\d+)?", "<addr>", reason)
                reasons[reason] = reasons.get(reason, 0) + 1
        return reasons

    def reload_times(self, container: str) -> list[float]:
        """Epoch times of every reload nginx logged."""
        logs = self.client.containers.get(container).logs(stdout=False, stderr=True, timestamps=True)
        return [_epoch(line) for line in logs.decode(errors="replace").splitlines()
                if line.endswith(": reconfiguring")]

    # --- bluegreen ------------------------------------------------------------------------------------------
    def bluegreen_config(self, nginx: Nginx, tag: str) -> Path:
        """bluegreen.yml for service `backend` behind `nginx`; state kept in the run's work dir."""
        config = {
            "version": 1, "network": self.network, "state_dir": str(self.workdir / f"state-{tag}"),
            "nginx": {"container": nginx.name, "public_url": nginx.url, "reload_timeout": "5s"},
            "services": {"backend": {
                "image": f"{APP_REPO}:v1", "container_prefix": f"{self.name}-{tag}", "port": PORT,
                "upstream": UPSTREAM, "upstream_file": f"/etc/nginx/conf.d/{UPSTREAM}.upstream.conf",
                "health": {"path": "/health/simple", "public_path": "/health", "interval": "0.2s",
                           "timeout": "20s", "successes": 2, "request_timeout": "2s"},
                "stop_timeout": "5s", "restart": "no",
            }},
        }
        path = self.workdir / f"bluegreen-{tag}.yml"
        path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
        return path

    # --- cleanup --------------------------------------------------------------------------------------------
    def remove(self, prefix: str) -> list[str]:
        """Remove every container whose name starts with `prefix`; returns what could not be removed."""
        errors: list[str] = []
        for c in self.client.containers.list(all=True, filters={"name": prefix}):
            if c.name.startswith(prefix):
                try:
                    c.remove(force=True)
                except docker.errors.NotFound:
                    pass
                except docker.errors.APIError as exc:
                    errors.append(f"{c.name}: {exc}")
        return errors

    def close(self) -> list[str]:
        """Remove every container named bgb-<id>… and the network; returns what could not be removed."""
        errors = self.remove(self.name)
        try:
            self.client.networks.get(self.network).remove()
        except docker.errors.NotFound:
            pass
        except docker.errors.APIError as exc:
            errors.append(f"{self.network}: {exc}")
        return errors


def _tar(files: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, int(time.time())
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _epoch(line: str) -> float:
    """The epoch seconds of a `docker logs --timestamps` line (RFC 3339, nanoseconds)."""
    stamp = line.split(" ", 1)[0]
    base, _, frac = stamp.rstrip("Z").partition(".")
    seconds = datetime.strptime(base, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc)
    return seconds.timestamp() + float("0." + (frac or "0"))
