"""An isolated nginx + app stack on its own Docker network, for one test.

Everything a stack creates is named `bgt-<id>-…`; `close()` removes every container
whose name starts with `bgt-<id>` (including the `<prefix>-blue`/`-green` an engine
under test creates) and the network, whatever state the test left them in.
"""
from __future__ import annotations

import io
import posixpath
import secrets
import socket
import tarfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import docker
import httpx
from docker.models.containers import Container

from helpers import WaitTimeout, wait_until

NGINX_CONF_DIR = "/etc/nginx"
APP_PORT = 8000
PREVIEW_PORT = 8081
STACK_LABEL = "bluegreen.test.stack"


@dataclass(frozen=True)
class TestImages:
    """References of the locally built images (scripts/build-images.sh)."""

    __test__ = False  # not a test class, despite the name

    app: str
    nginx: str
    app_repo: str
    backend_repo: str = "bluegreen-test/backend"

    def app_version(self, version: str) -> str:
        """The app image with APP_VERSION baked in: v1, v2 or v3."""
        return f"{self.app_repo}:{version}"

    def backend_version(self, version: str) -> str:
        """The Python backend (uvicorn + Starlette) with APP_VERSION baked in: v1, v2 or v3."""
        return f"{self.backend_repo}:{version}"


class Stack:
    """A user-defined network, an nginx container on it published on 127.0.0.1, and apps."""

    def __init__(self, client: docker.DockerClient, images: TestImages, *, driver: str = "bridge",
                 nginx_image: str | None = None, admin_dir: str | None = None,
                 nginx_restart: str | None = None, publish_ip: str = "127.0.0.1") -> None:
        self.client = client
        self.images = images
        self.driver = driver  # "overlay": an attachable Swarm overlay (the node must be a Swarm manager)
        self.nginx_image = nginx_image or images.nginx
        self.admin_dir = admin_dir  # mounted into nginx at the same path (switch: shared-dict)
        self.nginx_restart = nginx_restart  # nginx's restart policy (None: none, as `docker run` gives)
        self.publish_ip = publish_ip  # where nginx's ports are published (tests/swarm_nodes.py: the manager's)
        self.id = secrets.token_hex(4)
        self.name = f"bgt-{self.id}"
        self.network = self.name
        self.nginx_name = f"{self.name}-nginx"
        self.prefix = f"{self.name}-app"
        self.public_url = ""
        self.preview_url = ""
        self._generation = 0

    # ------------------------------------------------------------ lifecycle
    def start(self) -> "Stack":
        """Create the network and start nginx (serving the image's placeholder site)."""
        self.client.networks.create(self.network, driver=self.driver, labels={STACK_LABEL: self.id},
                                    attachable=self.driver == "overlay")
        nginx = self.client.containers.run(
            self.nginx_image,
            volumes={self.admin_dir: {"bind": self.admin_dir, "mode": "rw"}} if self.admin_dir else None,
            name=self.nginx_name,
            network=self.network,
            # docker picks free host ports; 8081 is where bluegreen opens a staged color's preview
            ports={"80/tcp": (self.publish_ip, None), f"{PREVIEW_PORT}/tcp": (self.publish_ip, None)},
            labels={STACK_LABEL: self.id},
            restart_policy={"Name": self.nginx_restart} if self.nginx_restart else None,
            detach=True,
        )
        nginx.reload()
        ports = nginx.attrs["NetworkSettings"]["Ports"]
        self.public_url = f"http://{self.publish_ip}:{ports['80/tcp'][0]['HostPort']}"
        self.preview_url = f"http://{self.publish_ip}:{ports[f'{PREVIEW_PORT}/tcp'][0]['HostPort']}"
        wait_until(lambda: httpx.get(self.public_url, timeout=2).status_code, 15,
                   f"nginx {self.nginx_name} to answer on {self.public_url}")
        return self

    def close(self) -> None:
        """Remove every Swarm service and container named bgt-<id>… and the network; never raises."""
        errors = []
        if self.driver == "overlay":
            for service in self.client.services.list(filters={"name": self.name}):
                if service.name.startswith(self.name):
                    try:
                        service.remove()
                    except docker.errors.APIError as exc:
                        errors.append(exc)
        # A removed service's task is Swarm's to remove (removing it too only races with Swarm).
        mine = [c for c in self.client.containers.list(all=True, filters={"name": self.name}, ignore_removed=True)
                if c.name.startswith(self.name) and "com.docker.swarm.task.id" not in c.labels]

        def remove(container: Container) -> None:
            try:
                container.remove(force=True)
            except docker.errors.NotFound:
                pass
            except docker.errors.APIError as exc:
                errors.append(exc)

        # Together: each removal mostly waits on the engine (a kill, a sandbox torn down), once per test.
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(remove, mine))
        # A removed service's tasks leave the overlay a moment later: removal is retried until it is gone (10 s).
        last: list[docker.errors.APIError] = []

        def network_gone() -> bool:
            try:
                network = self.client.networks.get(self.network)
                network.reload()
                for attached in network.attrs.get("Containers") or {}:  # anything attached we did not name
                    if not attached.startswith(("lb-", "ep-")):  # an overlay's own load-balancer endpoint
                        try:
                            network.disconnect(attached, force=True)
                        except docker.errors.NotFound:
                            pass
                network.remove()
            except docker.errors.NotFound:
                pass
            except docker.errors.APIError as exc:
                last[:] = [exc]
                if self.driver == "overlay":
                    return False  # not yet: poll again
            return True

        try:
            wait_until(network_gone, 10.0, f"network {self.network} removed", interval=0.25)
        except WaitTimeout:
            pass
        if last and self._network_exists():
            errors.extend(last)
        if errors:
            print(f"stack {self.name}: cleanup errors: {errors}")

    def _network_exists(self) -> bool:
        try:
            self.client.networks.get(self.network)
        except docker.errors.NotFound:
            return False
        return True

    # ------------------------------------------------------------ apps
    def app_name(self, name: str) -> str:
        """Full container name for `name` (`blue` -> bgt-<id>-app-blue)."""
        return name if name.startswith(self.name) else f"{self.prefix}-{name}"

    def run_app(
        self,
        name: str,
        *,
        version: str | None = None,
        image: str | None = None,
        env: dict[str, str] | None = None,
        publish: bool = False,
        wait_ready: bool = True,
        **run_kwargs,
    ) -> Container:
        """Start an app container on the stack network.

        `version` sets APP_VERSION (None: the image's own, "dev" for app:1).
        `publish=True` also publishes its port 8000 on 127.0.0.1 (see app_url).
        `wait_ready` waits for the app's "listening" line (not with APP_START_DELAY
        tests that want to see the slow boot).
        """
        environment = {**({"APP_VERSION": version} if version else {}), **(env or {})}
        container = self.client.containers.run(
            image or self.images.app,
            name=self.app_name(name),
            network=self.network,
            environment=environment,
            ports={f"{APP_PORT}/tcp": ("127.0.0.1", None)} if publish else None,
            labels={STACK_LABEL: self.id},
            detach=True,
            **run_kwargs,
        )
        if wait_ready:
            self.wait_app_ready(container)
        return container

    def wait_app_ready(self, container: Container, timeout: float = 15) -> None:
        def listening() -> bool:
            container.reload()
            if container.status == "exited":
                raise AssertionError(f"{container.name} exited: {container.logs()!r}")
            return b"listening on" in container.logs()

        wait_until(listening, timeout, f"app {container.name} to listen")

    def app_url(self, container: Container) -> str:
        """http://127.0.0.1:<port> of an app started with publish=True."""
        container.reload()
        bindings = container.attrs["NetworkSettings"]["Ports"].get(f"{APP_PORT}/tcp")
        if not bindings:
            raise ValueError(f"{container.name} was not started with publish=True")
        return f"http://127.0.0.1:{bindings[0]['HostPort']}"

    # ------------------------------------------------------------ nginx
    @property
    def nginx(self) -> Container:
        return self.client.containers.get(self.nginx_name)

    def nginx_exec(self, *cmd: str) -> tuple[int, str]:
        """Run a command in the nginx container: (exit code, combined output)."""
        code, output = self.nginx.exec_run(list(cmd))
        return code, output.decode(errors="replace")

    def write_nginx_file(self, path: str, text: str, *, mtime: float | None = None) -> None:
        """Write a file into the nginx container (relative paths are under /etc/nginx), with its modification time
        now or `mtime` (epoch seconds)."""
        path = posixpath.join(NGINX_CONF_DIR, path)
        data = text.encode()
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            info = tarfile.TarInfo(posixpath.basename(path))
            info.size = len(data)
            info.mode = 0o644
            info.mtime = int(time.time() if mtime is None else mtime)
            tar.addfile(info, io.BytesIO(data))
        if not self.nginx.put_archive(posixpath.dirname(path), buf.getvalue()):
            raise RuntimeError(f"put_archive to {path} failed")

    def read_nginx_file(self, path: str) -> str:
        """Read a file from the nginx container (relative paths are under /etc/nginx)."""
        path = posixpath.join(NGINX_CONF_DIR, path)
        stream, _ = self.nginx.get_archive(path)
        with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
            member = tar.next()
            extracted = tar.extractfile(member) if member else None
            if extracted is None:
                raise FileNotFoundError(path)
            return extracted.read().decode()

    def nginx_that_restarts(self, policy: str) -> None:
        """nginx created again (before any file is wired into it) with restart policy `policy` and a fixed host
        port: a restart would draw a random one again, and Docker 20.10 honours a policy given by `docker update`
        to a running container only after it was started again."""
        with socket.socket() as probe:  # a free port now; nginx takes it at once
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.nginx.remove(force=True)
        self.client.containers.run(self.nginx_image, name=self.nginx_name, network=self.network,
                                   ports={"80/tcp": ("127.0.0.1", port)}, labels={STACK_LABEL: self.id},
                                   restart_policy={"Name": policy}, detach=True)
        self.public_url = f"http://127.0.0.1:{port}"
        wait_until(lambda: httpx.get(self.public_url, timeout=2).status_code, 15,
                   f"nginx {self.nginx_name} to answer on {self.public_url}")

    def restart_nginx(self) -> None:
        """`docker restart` of nginx; random host ports may change, so the URLs are read again."""
        nginx = self.nginx
        nginx.restart(timeout=5)
        nginx.reload()
        ports = nginx.attrs["NetworkSettings"]["Ports"]
        self.public_url = f"http://{self.publish_ip}:{ports['80/tcp'][0]['HostPort']}"
        self.preview_url = f"http://{self.publish_ip}:{ports[f'{PREVIEW_PORT}/tcp'][0]['HostPort']}"

    def reload_nginx(self) -> None:
        """`nginx -s reload`; raises with nginx's output when it refuses."""
        code, output = self.nginx_exec("nginx", "-s", "reload")
        if code != 0:
            raise RuntimeError(f"nginx -s reload failed ({code}): {output}")

    def nginx_worker_pids(self) -> set[str]:
        """Host PIDs of the nginx worker processes (old generations included)."""
        top = self.nginx.top()
        pid_col = top["Titles"].index("PID")
        return {p[pid_col] for p in top["Processes"] if "nginx: worker process" in p[-1]}

    def proxy_to(self, host: str, port: int = APP_PORT, timeout: float = 10) -> None:
        """Route the site to host:port (a container name) and wait until nginx serves it.

        Writes conf.d/default.conf with a generation header, validates it, reloads, and
        polls until responses carry the new generation (a reload is asynchronous).
        """
        self._generation += 1
        gen = self._generation
        self.write_nginx_file(
            "conf.d/default.conf",
            "server {\n"
            "    listen 80;\n"
            f"    add_header X-Stack-Generation {gen} always;\n"
            "    location / {\n"
            f"        proxy_pass http://{host}:{port};\n"
            "        proxy_next_upstream error timeout;\n"
            "    }\n"
            "}\n",
        )
        code, output = self.nginx_exec("nginx", "-t")
        if code != 0:
            raise RuntimeError(f"nginx -t failed: {output}")
        before = self.nginx_worker_pids()
        self.reload_nginx()
        wait_until(
            lambda: httpx.get(self.public_url, timeout=2).headers.get("X-Stack-Generation") == str(gen),
            timeout,
            f"nginx to serve generation {gen} (proxy to {host}:{port})",
        )
        # Until the old workers have closed their listeners, one of them may still accept a new connection
        # with the old config: the switch is complete only once they are gone.
        wait_until(lambda: not (self.nginx_worker_pids() & before), timeout,
                   f"nginx's old workers to exit (proxy to {host}:{port})")
