"""Where a container is on a Docker network now, asked of the engine in one request without the Docker SDK: the
address the reload quick path probes (quick/rollback.py, `switch: reload`).

The reload the quick path sends makes nginx resolve the container's name again (Docker's embedded DNS answers it
with the container's address on the network they share), so the target is probed there, not at the address the
last switch recorded: a container recreated or reconnected since has another one, and another container may answer
at the old one. This is also the address the full path's health gate probes (parts/engine/containers.py reads the same field).

One HTTP/1.0 request on the engine's unix socket (admin_socket.request speaks it): measured here 0.2–0.7 ms,
against ~0.1 s to import the SDK (requests, urllib3), which the quick path must not. The container list filtered to
the exact name — not the container's inspect, which carries its environment: no secret is read at all — gives
only running containers, with their networks. The socket is DOCKER_HOST's when it names a unix socket (the SDK's
default otherwise); an engine over TCP or SSH is left to the full path, through the SDK.
"""

from __future__ import annotations

import json
import os
import re
from typing import Mapping
from urllib.parse import quote

from bluegreen.parts.admin_socket import AdminUnreachable, request

DEFAULT_SOCKET = "/var/run/docker.sock"
ANSWER_LIMIT = 1 << 20  # one container's entry is ~1 KB; labels could make it longer


def engine_socket(environ: Mapping[str, str]) -> str | None:
    """The engine's unix socket as the SDK's `from_env` finds it; None when DOCKER_HOST names anything else."""
    host = environ.get("DOCKER_HOST") or f"unix://{DEFAULT_SOCKET}"
    return host[len("unix://"):] if host.startswith("unix://") and len(host) > len("unix://") else None


def address(name: str, network: str, *, environ: Mapping[str, str] = os.environ,
            timeout: float = 2.0) -> str | None:
    """The IP address of the running container `name` on `network`; None when it does not run, is not on that
    network, or the engine does not answer as it should (the full path then looks through the SDK)."""
    path = engine_socket(environ)
    if path is None:
        return None
    # The engine reads the name filter as a regular expression: the exact name only.
    wanted = quote(json.dumps({"name": [f"^/{re.escape(name)}$"]}), safe="")
    try:
        status, body = request(path, "GET", f"/containers/json?filters={wanted}", timeout=timeout,
                               limit=ANSWER_LIMIT)
        found = json.loads(body) if status == 200 else None
    except (AdminUnreachable, ValueError):
        return None
    for entry in found if isinstance(found, list) else []:
        if not isinstance(entry, dict) or f"/{name}" not in (entry.get("Names") or []):
            continue
        settings = entry.get("NetworkSettings")
        networks = settings.get("Networks") if isinstance(settings, dict) else None
        on = networks.get(network) if isinstance(networks, dict) else None
        ip = on.get("IPAddress") if isinstance(on, dict) else None
        if entry.get("State") == "running" and isinstance(ip, str) and ip:
            return ip
    return None
