"""Probing Swarm tasks from inside their overlay network: the nginx container (attached to it, the path nginx
itself uses) requests each task's health path, all of them in one `docker exec`.

Why not from this host: overlay addresses are not routable here, and a request to one would leave the machine
through the default gateway. The answers read like health.probe's from this host: a redirect is a failure with
its Location, the app's X-App-Color is kept.
"""

from __future__ import annotations

import math
import re

from bluegreen.parts.engine import Docker
from bluegreen.parts.health import Probe


# The prober, run by `sh` in the nginx container: each URL's status line and headers, or why there are none.
# curl where it exists (the official images), else busybox wget (-S: headers; `timeout`, as busybox wget -T is
# unreliable in static builds). Arguments: the timeout in seconds, then the URLs (addresses and a validated path).
_PROBE = """t=$1; shift
for url do
  if command -v curl >/dev/null 2>&1; then
    out=$(curl -sS -o /dev/null -D - -m "$t" "$url" 2>&1)
  else
    out=$(timeout "$t" wget -S -O /dev/null "$url" 2>&1)
  fi
  printf '=== %s\\n%s\\n' "$?" "$out"
done
"""
_STATUS = re.compile(r"^\s*HTTP/[0-9.]+\s+(\d{3})", re.M)
_HEADER = re.compile(r"^\s*([A-Za-z0-9-]+):\s*(.*?)\s*$", re.M)


def probe_in(docker: Docker, container: str, urls: list[str], timeout: float) -> list[Probe]:
    """Probe `urls` from inside `container` (one exec); one Probe per URL, as health.probe would give it."""
    if not urls:
        return []
    seconds = str(max(1, math.ceil(timeout)))
    code, out = docker.exec(container, ["sh", "-c", _PROBE, "bluegreen", seconds, *urls])
    sections = out.split("=== ")[1:]
    if len(sections) != len(urls):
        return [Probe(False, detail=f"probe from {container} failed: {out.strip()[-160:] or code}")] * len(urls)
    return [parse_probe(section) for section in sections]


def parse_probe(section: str) -> Probe:
    """One URL's part of the prober's output: `<exit code>\\n<headers or error>`."""
    first, _, text = section.partition("\n")
    status = _STATUS.search(text)
    if status is None:
        rc = first.strip()
        last = next((line.strip() for line in reversed(text.splitlines()) if line.strip()), f"exit {rc}")
        if rc in ("28", "124", "143") or "timed out" in last:
            return Probe(False, detail="timeout")
        return Probe(False, detail=f"connect error: {last[:160]}")
    code = int(status.group(1))
    block = []
    for line in text[status.end():].splitlines()[1:]:  # the first response's headers only (wget follows redirects)
        if not line.strip() or _STATUS.match(line):
            break
        block.append(line)
    headers = {k.lower(): v for k, v in _HEADER.findall("\n".join(block))}
    color = headers.get("x-app-color")
    if 300 <= code < 400:
        return Probe(False, code, f"HTTP {code} redirect → {headers.get('location', '?')}", color)
    return Probe(200 <= code < 300, code, f"HTTP {code}", color)
