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

NGINX_IMAGE = "bluegreen-test/nginx:1"  # nginx 1.22 (Debian 12)
NGINX_NJS_IMAGE = "bluegreen-test/nginx:1.30"  # nginx 1.30 + njs: keepalive_min_timeout, switch: shared-dict
APP_REPO = "bluegreen-test/app"
UPSTREAM = "bgb_backend"
PORT = 8000

def write_backend_config(path: Path, *, network: str, state_dir: Path, nginx: dict, prefix: str, upstream: str,
                         upstream_file: str, health_timeout: str, request_timeout: str, stop_timeout: str,
                         **service_keys: object) -> None:
    """The benches' bluegreen.yml (the zero-downtime bench and the fault bench): service `backend` from the test
    app's image, checked on /health/simple (and /health through nginx), its state in `state_dir`."""
    config = {
        "version": 1, "network": network, "state_dir": str(state_dir),
        "nginx": {"reload_timeout": "5s", **nginx},
        "services": {"backend": {
            "image": f"{APP_REPO}:v1", "container_prefix": prefix, "port": PORT,
            "upstream": upstream, "upstream_file": upstream_file,
            "health": {"path": "/health/simple", "public_path": "/health", "interval": "0.2s",
                       "timeout": health_timeout, "successes": 2, "request_timeout": request_timeout},
            "stop_timeout": stop_timeout, **service_keys,
        }},
    }
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")


NGINX_CONF = """{modules}user www-data;
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


NJS_MODULE = "load_module /usr/lib/nginx/modules/ngx_http_js_module.so;\n"  # as the 1.30 image's own nginx.conf


# WebSockets through the public entry (README's lines): HTTP/1.1 upstream, Upgrade passed on; a plain request
# sends no Connection header, so nginx may keep its upstream connection open.
WEBSOCKET_MAP = "map $http_upgrade $bgb_connection { default upgrade; '' ''; }\n"
WEBSOCKET_LINES = (" proxy_http_version 1.1; proxy_set_header Upgrade $http_upgrade;"
                   " proxy_set_header Connection $bgb_connection;")


def site_conf(upstream: str, *, keepalive_timeout: str | None = None, keepalive_min_timeout: str | None = None,
              variable: bool = False, connect_timeout: str | None = None, websocket: bool = False) -> str:
    """The user's own server block: the public entry, proxying to the upstream bluegreen owns (`variable`: to the
    variable bluegreen's shared-dict file defines). In reload mode keepalive_min_timeout belongs here: the public
    listener is the user's, bluegreen's file holds only upstreams."""
    extra = "".join(f"    {key} {value};\n" for key, value in (("keepalive_timeout", keepalive_timeout),
                                                                ("keepalive_min_timeout", keepalive_min_timeout))
                    if value is not None)
    # Swarm: a request sent to a task being replaced waits for the connect to fail before nginx tries the next.
    connect = f" proxy_connect_timeout {connect_timeout};" if connect_timeout else ""
    target = f"${upstream}" if variable else upstream
    upgrade = WEBSOCKET_LINES if websocket else ""
    return ((WEBSOCKET_MAP if websocket else "") + "server {\n    listen 80 default_server;\n" + extra +
            f"    location / {{ proxy_pass http://{target};{connect}{upgrade} }}\n}}\n")


def missing_images(client: docker.DockerClient, refs: list[str]) -> list[str]:
    """The images a bench needs that the engine does not have (`make env` builds them)."""
    return [ref for ref in refs if not client.images.list(name=ref)]


@dataclass
class Nginx:
    name: str
    url: str  # http://<publish_ip>:<published port>
    port: int


class BenchStack:
    publish_ip = "127.0.0.1"  # where nginx's port is published (the manager's address on bench/three_nodes.py)

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
    def nginx(self, suffix: str, files: dict[str, str], *, image: str = NGINX_IMAGE, admin_dir: str | None = None,
              network: str | None = None) -> Nginx:
        """An nginx container `bgb-<id>-<suffix>` with our nginx.conf and `files` in conf.d, answering.
        admin_dir (shared-dict): mounted at the same path; network: another network than the stack's (Swarm)."""
        name = f"{self.name}-{suffix}"
        c = self.client.containers.create(image, name=name, network=network or self.network,
                                          ports={"80/tcp": (self.publish_ip, None)},
                                          volumes={admin_dir: {"bind": admin_dir, "mode": "rw"}} if admin_dir else None,
                                          labels={"bluegreen.bench": self.id})
        modules = NJS_MODULE if image == NGINX_NJS_IMAGE else ""
        c.put_archive("/etc/nginx", _tar({"nginx.conf": NGINX_CONF.replace("{modules}", modules)}))
        c.put_archive("/etc/nginx/conf.d", _tar({"default.conf": "", **files}))
        c.start()
        c.reload()
        port = int(c.attrs["NetworkSettings"]["Ports"]["80/tcp"][0]["HostPort"])
        return Nginx(name, f"http://{self.publish_ip}:{port}", port)

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
    def bluegreen_config(self, nginx: Nginx, tag: str, *, nginx_keys: dict | None = None,
                         service_keys: dict | None = None, network: str | None = None) -> Path:
        """bluegreen.yml for service `backend` behind `nginx`; state kept in the run's work dir."""
        path = self.workdir / f"bluegreen-{tag}.yml"
        write_backend_config(path, network=network or self.network, state_dir=self.workdir / f"state-{tag}",
                             nginx={"container": nginx.name, "public_url": nginx.url, **(nginx_keys or {})},
                             prefix=f"{self.name}-{tag}", upstream=UPSTREAM,
                             upstream_file=f"/etc/nginx/conf.d/{UPSTREAM}.upstream.conf", health_timeout="20s",
                             request_timeout="2s", **{"stop_timeout": "5s", "restart": "no", **(service_keys or {})})
        return path

    # --- cleanup --------------------------------------------------------------------------------------------
    def remove(self, prefix: str) -> list[str]:
        """Remove every container whose name starts with `prefix`; returns what could not be removed."""
        errors: list[str] = []
        for c in self.client.containers.list(all=True, filters={"name": prefix}, ignore_removed=True):
            if "com.docker.swarm.task.id" in c.labels:
                continue  # a Swarm task: removing its service removes it (removing it too only races Swarm)
            if c.name.startswith(prefix):
                try:
                    c.remove(force=True)
                except docker.errors.NotFound:
                    pass
                except docker.errors.APIError as exc:
                    errors.append(f"{c.name}: {exc}")
        return errors

    def remove_services(self, prefix: str) -> list[str]:
        """Remove every Swarm service whose name starts with `prefix` (their tasks go with them)."""
        errors: list[str] = []
        try:
            services = self.client.services.list(filters={"name": prefix})
        except docker.errors.APIError:  # not a swarm manager (any more): no service to remove
            return errors
        for service in services:
            if service.name.startswith(prefix):
                try:
                    service.remove()
                except docker.errors.NotFound:
                    pass
                except docker.errors.APIError as exc:
                    errors.append(f"{service.name}: {exc}")
        return errors

    def remove_network(self, name: str, timeout: float = 30) -> list[str]:
        """Remove a network; a removed service's tasks leave an overlay a moment later, so retry until a deadline."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.client.networks.get(name).remove()
                return []
            except docker.errors.NotFound:
                return []
            except docker.errors.APIError as exc:
                if time.monotonic() > deadline:
                    return [f"{name}: {exc}"]
            time.sleep(0.5)  # poll: Swarm is detaching the removed tasks

    def close(self, networks: tuple[str, ...] = ()) -> list[str]:
        """Remove every service and container named bgb-<id>… and the networks; returns what could not be removed."""
        errors = self.remove_services(self.name)
        errors += self.remove(self.name)
        for name in (*networks, self.network):
            errors += self.remove_network(name)
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
