"""Hand-made facts for the doctor's checks: a well-set-up system (every check ok), changed one fact at a time."""

from __future__ import annotations

from dataclasses import replace

from bluegreen.parts.facts import Facts, NginxFacts, PathFacts
from bluegreen.config.schema import parse
from bluegreen.messages import render
from bluegreen.config.log_format import DEFAULT_FORMAT
from bluegreen.parts.engine import ContainerFacts, EngineFacts
from bluegreen.parts.nginx_config import parse_dump

UPSTREAM_FILE = "/etc/nginx/conf.d/maice_backend.upstream.conf"
NGINX_CONF = f"""user www-data;
events {{ worker_connections 1024; }}
http {{
    log_format bluegreen '{DEFAULT_FORMAT}';
    access_log /var/log/nginx/access.log bluegreen;
    include /etc/nginx/conf.d/*.conf;
}}
"""
SITE = """server {
    listen 80;
    location / {
        proxy_pass http://maice_backend;
        proxy_set_header Host $host;
        proxy_next_upstream off;
    }
}
"""
OWN = """upstream maice_backend {
    server maice-back-blue:8000 max_fails=3 fail_timeout=30s;
    server maice-back-green:8000 max_fails=3 fail_timeout=30s backup;
}
"""


def dump_text(site: str = SITE, own: str | None = OWN, nginx_conf: str = NGINX_CONF, *extra: tuple[str, str]) -> str:
    files = [("/etc/nginx/nginx.conf", nginx_conf), ("/etc/nginx/conf.d/default.conf", site), *extra]
    if own is not None:
        files.append((UPSTREAM_FILE, own))
    return "".join(f"# configuration file {path}:\n{text}\n" for path, text in files)


def config(*, switch: str = "reload", restart: str = "unless-stopped", access_log: str = "/var/log/nginx/access.log",
           **service):
    return parse({"network": "maice", "state_dir": "/var/lib/bluegreen",
                  "nginx": {"container": "nginx", "switch": switch, "access_log": access_log},
                  "services": {"backend": {"container_prefix": "maice-back", "upstream": "maice_backend",
                                           "restart": restart, **service}}})


def container(name: str, restart: str = "unless-stopped", mounts=()) -> ContainerFacts:
    return ContainerFacts(name=name, id=f"id-{name}", image="img", running=True, restart=restart, networks=("maice",),
                          published=(), mounts=tuple(mounts), env_names=(), labels={})


def facts(*, dump: str | None = None, cfg=None, version: str = "1.22.1", **changes) -> Facts:
    """A well-set-up system with `changes` (Facts fields; `nginx=` takes a dict of NginxFacts changes)."""
    cfg = cfg or config()
    svc = cfg.service("backend")
    colors = {c: (container(f"maice-back-{c}"),) for c in ("blue", "green")}
    nginx = NginxFacts("nginx", version, "configure arguments: --with-http_ssl_module",
                       parse_dump(dump if dump is not None else dump_text()), sees_master=True)
    nginx = replace(nginx, **changes.pop("nginx", {}))
    base = Facts(service=svc, nginx_settings=cfg.nginx, nginx=nginx,
                 engine=EngineFacts(version="20.10.24", live_restore=True, swarm_manager=False),
                 nginx_container=container("nginx"), colors=colors,
                 state_dir=PathFacts("/var/lib/bluegreen", uid=0, mode=0o755, free=50 << 30),
                 declared_state_dir="/var/lib/bluegreen", user=0, python=(3, 11, 2),
                 named={c.name: c for found in colors.values() for c in found}, quick="ready")
    return replace(base, **changes)


def said(finding, lang: str = "en") -> tuple[str, str | None]:
    """The finding's line and its fix, as the operator reads them."""
    fix = render(finding.fix, lang, **finding.fix_params) if finding.fix else None
    return render(finding.key, lang, **finding.params), fix
