"""bluegreen.yml for `bluegreen init`: an existing one checked against what init read (a line per key the
system contradicts), or the values of a new one (operations/init_plan.Values, rendered by parts/render.py)."""

from __future__ import annotations

import os
from pathlib import Path

from bluegreen.config.file import DEFAULT_STATE_DIR
from bluegreen.config.values import ENV_NAME, IMAGE, NGINX_PATH, volume
from bluegreen.errors import Inconsistent, UsageError
from bluegreen.operations import init_plan as decide
from bluegreen.operations.init_plan import Request
from bluegreen.output import Reporter
from bluegreen.parts.site_survey import ContainerFacts, NginxReading
from bluegreen.config.settings import DEFAULT_IMAGE, Config, Nginx, Service

RESTART = ("no", "always", "unless-stopped", "on-failure")


def check_config(req: Request, cfg: Config, svc: Service, layout: decide.Layout, nginx: NginxReading,
                 networks: list[str], out: Reporter) -> None:
    """One line per key the system (or an option given) contradicts; exit 3 when there is any."""
    key = f"services.{svc.name}"
    says = {"network": cfg.network, f"{key}.container_prefix": svc.container_prefix, f"{key}.port": str(svc.port),
            f"{key}.server_params": " ".join(svc.server_params), "nginx.public_url": cfg.nginx.public_url,
            "nginx.reload": cfg.nginx.reload}
    found: dict[str, str | set[str]] = {
        "network": set(networks), f"{key}.container_prefix": layout.prefix, f"{key}.port": str(layout.port),
        f"{key}.server_params": " ".join(layout.params)}
    published = nginx.facts.published
    if not decide.url_reaches(cfg.nginx.public_url, published):
        found["nginx.public_url"] = decide.public_url(published) or "no published port 80/443"
    if cfg.nginx.reload == "signal" and not nginx.signal_reaches_master:
        found["nginx.reload"] = "exec (nginx is not the container's main process: SIGHUP would not reach it)"
    lines = decide.disagreements(says, found)
    current = {"nginx.container": cfg.nginx.container, "network": cfg.network, "nginx.switch": cfg.nginx.switch,
               "nginx.admin_dir": cfg.nginx.admin_dir, "state_dir": str(cfg.state_dir),
               f"{key}.upstream": svc.upstream}
    for item in lines:
        out.say("init.disagree", setting=item.key, path=str(req.config_path), says=item.says, found=item.found)
    count = len(lines)
    for name, (option, given) in req.options().items():
        if given is not None and given.rstrip("/") != current[name].rstrip("/"):
            out.say("init.disagree_option", setting=name, path=str(req.config_path), says=current[name], option=option,
                    found=given)
            count += 1
    if count:
        raise Inconsistent("init.disagrees", path=str(req.config_path), count=count)
    out.say("init.config_agrees", path=str(req.config_path))


def new_values(req: Request, layout: decide.Layout, nginx: NginxReading, serving: ContainerFacts,
               networks: list[str], image_env: tuple[str, ...], out: Reporter) -> decide.Values:
    """A new bluegreen.yml's values, from what init read (options first)."""
    if req.network is not None:
        if req.network not in networks:
            raise UsageError("init.network_not_shared", network=req.network, shared=", ".join(networks) or "-")
        network = req.network
    elif len(networks) == 1:
        network = networks[0]
    else:
        raise Inconsistent("init.many_networks" if networks else "init.no_network", names=", ".join(networks),
                           nginx=nginx.facts.name)
    public = decide.public_url(nginx.facts.published)
    if public is None:
        out.say("init.no_public_port", nginx=nginx.facts.name)
    repository = decide.image_repository(serving.image)
    image = f"{repository}:${{BUILD_NUMBER}}" if IMAGE.fullmatch(repository) and ":" not in repository.rpartition(
        "/")[2] and not repository.startswith("sha256") else DEFAULT_IMAGE
    names = [n for n in serving.env_names if ENV_NAME.fullmatch(n)]
    env, unbound = decide.env_entries(names, image_env, layout.prefix)
    upstream_file = f"{nginx.dump.prefix}/conf.d/{layout.upstream}.upstream.conf"
    values = decide.Values(
        service=req.service, network=network, state_dir=req.state_dir or DEFAULT_STATE_DIR, nginx=nginx.facts.name,
        reload="signal" if nginx.signal_reaches_master else "exec", public_url=public or Nginx.public_url,
        switch=req.switch or "reload", admin_dir=req.admin_dir or Nginx.admin_dir, image=image, prefix=layout.prefix,
        port=layout.port, upstream=layout.upstream,
        upstream_file=upstream_file if NGINX_PATH.fullmatch(upstream_file) else
        f"/etc/nginx/conf.d/{layout.upstream}.upstream.conf",
        server_params=" ".join(layout.params), restart=serving.restart if serving.restart in RESTART else "unless-stopped",
        volumes=tuple(v for v in serving.volumes if _valid_volume(v)), env=env, env_unbound=unbound)
    out.say("init.found", network=network, url=values.public_url, image=values.image,
            names=", ".join(n for n, _, _ in env) or "-")
    return values


def _valid_volume(spec: str) -> bool:
    try:
        volume(spec, "volumes")
    except UsageError:
        return False
    return True


def writable(path: Path) -> None:
    """bluegreen.yml can be created there (checked before anything changes, dry run included)."""
    parent = path.parent
    if path.is_symlink():
        raise UsageError("init.config_dir", path=str(path), error="a symbolic link is there")
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise UsageError("init.config_dir", path=str(path), error="its directory cannot be written")
