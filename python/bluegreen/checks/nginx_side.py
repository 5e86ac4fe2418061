"""Checks of nginx's configuration as `nginx -T` prints it (parts/nginx_config.py reads it): the test itself, where
the service's upstream block is, the njs module, the access log the monitor reads, WebSocket headers, and what
nginx re-sends to the other color.

Every check that reads the configuration is skipped (None) when `nginx -T` failed: nginx_test says why.
"""

from __future__ import annotations

import re

from bluegreen.parts.facts import FAIL, OK, WARN, Facts, Finding
from bluegreen.config.log_format import DOCKER_LOGS, OFF, REQUIRED
from bluegreen.parts.nginx_config import Directive

COMBINED = ('$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" '
            '"$http_user_agent"')  # nginx's predefined log_format, used by an access_log that names none
STDOUT = ("/dev/stdout", "/proc/self/fd/1")  # where `access_log: docker-logs` needs the lines to go
HTTP11_DEFAULT_SINCE = (1, 29, 7)  # nginx proxies with HTTP/1.1 by default from 1.29.7 (design notes, 2026-12-07)
_ERROR_AT = re.compile(r" in (/\S+):(\d+)$")


def nginx_test(f: Facts) -> Finding:
    n = f.nginx
    if n.dump is not None:
        return Finding("nginx_test", OK, "doctor.nginx_test.ok", {"nginx": n.container})
    at = _ERROR_AT.search(n.error)
    where = f"{at.group(1)}:{at.group(2)}" if at else "-"
    line = {"nginx": n.container, "error": n.error}
    # bluegreen's own file is left to a run's look and repair, which say what it is and put the confirmed text back:
    # the error is in it, or the site misses what it defines (the upstream, or shared-dict's variable, is gone).
    # A `duplicate upstream` in the site is not such a case: the guide's inline block, the team's to move.
    defined = re.compile(rf'(?:host not found in upstream|unknown) "\$?{re.escape(f.service.upstream)}'
                         rf'(?:_blue|_green)?(?::\d+)?"')
    in_ours = at is not None and at.group(1) == f.service.upstream_file
    if defined.search(n.error) and not in_ours:  # the fix names bluegreen's file, not the site's line
        return Finding("nginx_test", FAIL, "doctor.nginx_test.fails", line, "doctor.fix.nginx_test_own",
                       {"nginx": n.container, "path": f.service.upstream_file, "service": f.service.name})
    return Finding("nginx_test", FAIL, "doctor.nginx_test.fails", line, "doctor.fix.nginx_test",
                   {"nginx": n.container, "where": where}, refuses=not in_ours)


def upstream_block(f: Facts) -> Finding | None:
    dump, svc = f.nginx.dump, f.service
    if dump is None:
        return None
    names = [svc.upstream] + ([f"{svc.upstream}_blue", f"{svc.upstream}_green"]
                              if f.nginx_settings.switch == "shared-dict" else [])
    elsewhere = [b for name in names for b in dump.upstreams(name) if b.path != svc.upstream_file]
    if elsewhere:
        return Finding("upstream_block", FAIL, "doctor.upstream_block.elsewhere",
                       {"upstream": elsewhere[0].name, "where": elsewhere[0].where, "path": svc.upstream_file},
                       "doctor.fix.init_apply")
    params = {"upstream": svc.upstream, "path": svc.upstream_file}
    if dump.file(svc.upstream_file) is None and not dump.included(svc.upstream_file):
        return Finding("upstream_block", FAIL, "doctor.upstream_block.not_read", params, "doctor.fix.include", params)
    if not proxying(f):
        return Finding("upstream_block", FAIL, "doctor.upstream_block.unused", params, "doctor.fix.proxy_pass",
                       {"upstream": ("$" if f.nginx_settings.switch == "shared-dict" else "") + svc.upstream})
    if dump.file(svc.upstream_file) is None:
        return Finding("upstream_block", OK, "doctor.upstream_block.first_deploy", params)
    return Finding("upstream_block", OK, "doctor.upstream_block.ok", params)


def njs(f: Facts) -> Finding | None:
    if f.nginx_settings.switch != "shared-dict":
        return Finding("njs", OK, "doctor.njs.not_needed")
    dump = f.nginx.dump
    if dump is None:
        return None
    loaded = any(d.name == "load_module" and d.args and d.args[0].endswith("ngx_http_js_module.so")
                 for d, _ in dump.walk())
    if loaded or re.search(r"--add-module=\S*njs", f.nginx.configure):
        return Finding("njs", OK, "doctor.njs.ok", {"how": "load_module" if loaded else "--add-module"})
    return Finding("njs", FAIL, "doctor.njs.missing", {"nginx": f.nginx.container, "version": f.nginx.version or "?"},
                   "doctor.fix.njs", refuses=True)


def access_log(f: Facts) -> Finding | None:
    """The monitor reads nginx's access log where `nginx.access_log` says, with `nginx.log_format`'s text: the log
    in force where nginx proxies to the service must be that one."""
    wanted, source = f.nginx_settings.log_format, f.nginx_settings.access_log
    if source == OFF:
        return Finding("access_log", OK, "doctor.access_log.off")
    dump = f.nginx.dump
    if dump is None:
        return None
    formats = {"combined": COMBINED, **{name: text for name, (text, _) in dump.log_formats().items()}}
    logs: list[Directive] = []
    for d, parents in proxying(f) or [(None, ())]:
        for log in dump.in_force("access_log", d.path if d else dump.files[0].path, parents):
            if log.args and log.args[0] != "off" and log not in logs:
                logs.append(log)
    fix = {"text": wanted.replace("'", "\\'"), "destination": "/dev/stdout" if source == DOCKER_LOGS else source}
    if not logs:
        return Finding("access_log", FAIL, "doctor.access_log.none", {"source": source}, "doctor.fix.log_nginx", fix)
    here = [log for log in logs if _leads_to(f, log.args[0], source)]
    for log in here:
        if formats.get(_format_of(log)) == wanted:
            return Finding("access_log", OK, "doctor.access_log.ok", {"where": log.where, "source": source})
    if here:
        log = here[0]
        text = formats.get(_format_of(log))
        params = {"where": log.where, "format": _format_of(log)}
        missing = [f"${v}" for v in REQUIRED if text is None or f"${v}" not in text and f"${{{v}}}" not in text]
        if missing:
            return Finding("access_log", FAIL, "doctor.access_log.fields", {**params, "missing": ", ".join(missing)},
                           "doctor.fix.log_nginx", fix)
        return Finding("access_log", FAIL, "doctor.access_log.other_format", params, "doctor.fix.log_format_yml",
                       {"text": text.replace("'", "''")})
    log = logs[0]
    same = next((entry for entry in logs if formats.get(_format_of(entry)) == wanted), None)
    if same is not None:
        return Finding("access_log", FAIL, "doctor.access_log.elsewhere",
                       {"where": same.where, "path": same.args[0], "source": source}, "doctor.fix.access_log_yml",
                       {"path": same.args[0]})
    return Finding("access_log", FAIL, "doctor.access_log.elsewhere", {"where": log.where, "path": log.args[0],
                                                                       "source": source}, "doctor.fix.log_nginx", fix)


def websocket(f: Facts) -> Finding | None:
    """A location that proxies to the service with some of the WebSocket pieces but not all breaks WebSockets
    (nginx does not pass the hop-by-hop Upgrade and Connection headers on, and needs HTTP/1.1 to the app)."""
    dump = f.nginx.dump
    if dump is None:
        return None
    default = "1.1" if f.nginx.numbers >= HTTP11_DEFAULT_SINCE else "1.0"
    complete, partial = [], []
    for d, parents in proxying(f):
        headers = {h.args[0].lower(): " ".join(h.args[1:]).lower()
                   for h in dump.in_force("proxy_set_header", d.path, parents) if h.args}
        versions = dump.in_force("proxy_http_version", d.path, parents)
        version = versions[-1].args[0] if versions and versions[-1].args else default
        pieces = {"proxy_set_header Upgrade $http_upgrade": "upgrade" in headers,
                  'proxy_set_header Connection "upgrade"': "upgrade" in headers.get("connection", ""),
                  "proxy_http_version 1.1": version == "1.1"}
        if not (pieces["proxy_set_header Upgrade $http_upgrade"] or pieces['proxy_set_header Connection "upgrade"']):
            continue
        where = _location(d, parents)
        if all(pieces.values()):
            complete.append(where)
        else:
            partial.append((where, [piece for piece, there in pieces.items() if not there]))
    if partial:
        where, missing = partial[0]
        return Finding("websocket", FAIL, "doctor.websocket.partial", {"where": where, "missing": "; ".join(missing)},
                       "doctor.fix.websocket", {"where": where})
    if complete:
        return Finding("websocket", OK, "doctor.websocket.ok", {"where": ", ".join(complete)})
    return Finding("websocket", OK, "doctor.websocket.none", {"upstream": f.service.upstream})


def retries(f: Facts) -> Finding | None:
    """nginx re-sends a request whose answer had not begun (`proxy_next_upstream`, `error timeout` by default) to
    the next server: with the previous release kept as `backup`, to another release, late, after the app may have
    done the work (an LLM call paid twice). Measured in docs/real-backend.md; `off` shows the cut to the client."""
    dump = f.nginx.dump
    if dump is None:
        return None
    resending: dict[str, str] = {}
    for d, parents in proxying(f):
        flags = dump.in_force("proxy_next_upstream", d.path, parents)
        tries = dump.in_force("proxy_next_upstream_tries", d.path, parents)
        words = " ".join(flags[-1].args) if flags else "error timeout"  # nginx's default
        if words != "off" and not (tries and tries[-1].args == ("1",)):
            resending.setdefault(_location(d, parents), words)
    if resending:
        where, words = next(iter(resending.items()))
        return Finding("retries", WARN, "doctor.retries.resends", {"where": ", ".join(resending), "flags": words},
                       "doctor.fix.retries", {"where": where})
    return Finding("retries", OK, "doctor.retries.ok", {"upstream": f.service.upstream})


def proxying(f: Facts) -> list[tuple[Directive, tuple[Directive, ...]]]:
    """Every `proxy_pass` outside bluegreen's own file that sends requests to the service: to its upstream (or,
    with shared-dict, the variable naming it) or straight to a color's container, with the blocks around it."""
    svc = f.service
    name, prefix = re.escape(svc.upstream), re.escape(svc.container_prefix)
    target = re.compile(rf"(?:https?|grpcs?)://(?:\$\{{?{name}\}}?|{name}(?:_blue|_green)?|{prefix}-(?:blue|green)"
                        rf"(?:-\d+)?)(?::\d+)?(?:/.*)?")
    dump = f.nginx.dump
    return [(d, parents) for d, parents in (dump.walk() if dump else ()) if d.name == "proxy_pass" and d.args
            and d.path != svc.upstream_file and target.fullmatch(d.args[0])]


def _location(d: Directive, parents: tuple[Directive, ...]) -> str:
    """`location /ws` at file:line (the innermost location around `d`), or `d`'s own place."""
    block = next((p for p in reversed(parents) if p.name == "location"), None)
    return f"location {' '.join(block.args)} ({block.where})" if block else d.where


def _format_of(log: Directive) -> str:
    return log.args[1] if len(log.args) > 1 and "=" not in log.args[1] else "combined"


def _leads_to(f: Facts, path: str, source: str) -> bool:
    """nginx's `access_log path` writes where the monitor reads (`source`: docker-logs or a file)."""
    target = f.nginx.links.get(path, path)
    if source == DOCKER_LOGS:
        return path in STDOUT or target in STDOUT
    return source in (path, target)
