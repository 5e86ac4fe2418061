"""The faults: the only module that breaks things on purpose (nginx files, containers, host tmpfs, dockerd).

Every fault here has its undo beside it, and rows call the undo before the next ordinary command: what is
measured is what bluegreen does, not how long a fault was left in place.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import httpx

from chaos.stack import BG_DIR, LOC_DIR, UPSTREAM, UPSTREAM_FILE, ChaosStack, _answers, wait


# --- nginx files --------------------------------------------------------------------------------------------
def add_location(stack: ChaosStack, name: str, text: str) -> None:
    """A file the public server includes (never the file bluegreen owns)."""
    stack.write(stack.nginx_name, LOC_DIR, {f"{name}.loc": text})


def remove_location(stack: ChaosStack, name: str, *, reload: bool) -> None:
    stack.exec(stack.nginx_name, "rm", "-f", f"{LOC_DIR}/{name}.loc")
    if reload:
        reload_confirmed(stack)


def hold_port_with_a_server(stack: ChaosStack) -> None:
    """A reload nginx does not apply: `nginx -t` tolerates EADDRINUSE, the master at reload does not (it logs it
    and keeps the old config). busybox httpd holds 127.0.0.1:8082 in nginx's namespace; a server listens there."""
    code, out = stack.exec(stack.nginx_name, "busybox", "httpd", "-p", "127.0.0.1:8082", "-h", "/tmp")
    if code != 0:
        raise RuntimeError(f"busybox httpd: {out.strip()}")
    stack.write(stack.nginx_name, "/etc/nginx/conf.d", {"zz-bind.conf": "server { listen 127.0.0.1:8082; return 204; }\n"})


def free_held_port(stack: ChaosStack) -> None:
    stack.exec(stack.nginx_name, "rm", "-f", "/etc/nginx/conf.d/zz-bind.conf")
    stack.exec(stack.nginx_name, "pkill", "httpd")


def reload_confirmed(stack: ChaosStack, timeout: float = 10) -> None:
    """`nginx -s reload`, then wait until a new set of workers runs (the reload was applied)."""
    before = workers(stack)
    code, out = stack.exec(stack.nginx_name, "nginx", "-s", "reload")
    if code != 0:
        raise RuntimeError(f"nginx -s reload: {out.strip()}")
    wait(lambda: (now := workers(stack)) and not (now & before), timeout, "nginx to apply the reload", 0.05)


def workers(stack: ChaosStack) -> set[str]:
    top = stack.client.containers.get(stack.nginx_name).top(ps_args="-o pid,args")
    return {p[0] for p in top.get("Processes") or [] if "worker process" in p[-1] and "shutting" not in p[-1]}


def fill_config_dir(stack: ChaosStack) -> None:
    """Fill the tmpfs holding the upstream file (write until ENOSPC; the error is the point)."""
    fill(stack.config_host_dir)


def free_config_dir(stack: ChaosStack) -> None:
    unfill(stack.config_host_dir)


def hand_switch_file(stack: ChaosStack) -> None:
    """An operator's switch: the upstream file's colors swapped by hand, then `nginx -s reload`."""
    code, text = stack.exec(stack.nginx_name, "cat", UPSTREAM_FILE)
    swapped = text.replace("-blue", "-@@").replace("-green", "-blue").replace("-@@", "-green")
    stack.write(stack.nginx_name, BG_DIR, {UPSTREAM_FILE.rsplit("/", 1)[1]: swapped})
    reload_confirmed(stack)


def hand_switch_socket(stack: ChaosStack, color: str) -> dict:
    """An operator's switch in shared-dict mode: `curl --unix-socket … -X PUT --data <color> /color`."""
    transport = httpx.HTTPTransport(uds=str(stack.admin_dir / f"{UPSTREAM}.sock"))
    with httpx.Client(transport=transport, base_url="http://bluegreen", timeout=5) as client:
        return client.put("/color", content=color).json()


# --- containers ---------------------------------------------------------------------------------------------
def remove_container(stack: ChaosStack, name: str) -> None:
    stack.client.containers.get(name).remove(force=True)


def restart_nginx(stack: ChaosStack) -> float:
    """`docker restart` the nginx container (SIGTERM: nginx's fast shutdown); seconds until it answers again."""
    start = time.monotonic()
    stack.client.containers.get(stack.nginx_name).restart(timeout=10)
    wait(lambda: _answers(stack.url), 30, "nginx to answer after its restart", 0.02)
    return time.monotonic() - start


def serving_within(stack: ChaosStack, timeout: float) -> tuple[float | None, float | None, str | None]:
    """(seconds until nginx serves a 2xx through its port again, that moment (monotonic), the color that answered);
    (None, None, None) when it does not within `timeout`. A 502 is an answer, not service."""
    start = time.monotonic()
    try:
        color = wait(lambda: _served_color(stack.url), timeout, "nginx to serve", 0.02)
    except TimeoutError:
        return None, None, None
    now = time.monotonic()
    return round(now - start, 2), now, color


def _served_color(url: str) -> str | None:
    try:
        answer = httpx.get(url + "/", timeout=1)
    except httpx.HTTPError:
        return None
    if not answer.is_success:
        return None
    return next((w.partition("=")[2] for w in answer.text.split() if w.startswith("color=")), "?")


# --- the host: a tiny tmpfs for the state directory ---------------------------------------------------------
def mount_tmpfs(path: Path, size: str = "256k") -> None:
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=755", "bgc-state", str(path)], check=True)


def fill(path: Path) -> None:
    """Write zeros into `path`/zz-fill until the filesystem is full."""
    chunk = b"\0" * 65536
    with open(path / "zz-fill", "wb", buffering=0) as f:
        try:
            while True:
                f.write(chunk)
        except OSError:
            pass
    # a few bytes may still fit: take them too, so the next write of any size fails
    with open(path / "zz-fill2", "wb", buffering=0) as f:
        try:
            while True:
                f.write(b"\0")
        except OSError:
            pass


def unfill(path: Path) -> None:
    for name in ("zz-fill", "zz-fill2"):
        (path / name).unlink(missing_ok=True)


def umount(path: Path) -> None:
    if os.path.ismount(path):
        subprocess.run(["umount", "-l", str(path)], check=False)
