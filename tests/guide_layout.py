"""The team's own setup, exactly as their Blue-Green guide (shared/docs/seed-guide.md) lays it out, before
bluegreen ever ran: an nginx container whose `conf.d/default.conf` holds `upstream <name> { … }` inline, the
colors' containers started by hand (no bluegreen labels), and a bluegreen.yml written from the README's example
(its `upstream_file` is bluegreen's own file, which does not exist yet).

    GuideSite(stack, tmp_path, serving="blue", backup="green")     the guide's architecture picture
    GuideSite(…, serving="green", backup="blue")                    after one of the guide's deploys
    GuideSite(…, serving="blue", backup=None, running=("blue",))     only one color runs
    GuideSite(…, block_in="own")                                    the block already in its own file
    GuideSite(…, ambiguous=True)                                    the guide's monitoring sample: green named
                                                                    twice (primary and backup)

Each color runs the app with its own APP_VERSION (`versions`), so a request tells which one answered.
"""

from __future__ import annotations

from pathlib import Path

from helpers import wait_until
from site_under_test import UPSTREAM, UPSTREAM_FILE, Site, version
from stack import Stack

PARAMS = "max_fails=3 fail_timeout=30s"


def guide_block(upstream: str, prefix: str, serving: str, backup: str | None, *, ambiguous: bool = False) -> str:
    """The guide's upstream block: the serving color first, the other as `backup` (comments as the guide's)."""
    lines = [f"upstream {upstream} {{", f"    # {serving.capitalize()} 환경 (현재 활성)",
             f"    server {prefix}-{serving}:8000 {PARAMS};"]
    if ambiguous:  # seed-guide.md's sample output: the same container as primary and as backup
        lines += ["", "    # Blue 환경 (이전 환경 - 백업)", f"    server {prefix}-{serving}:8000 {PARAMS} backup;"]
    elif backup:
        lines += ["", f"    # {backup.capitalize()} 환경 (대기 - 백업)", f"    server {prefix}-{backup}:8000 {PARAMS} backup;"]
    return "\n".join(lines) + "\n}\n"


def guide_site_conf(upstream: str, block: str) -> str:
    """conf.d/default.conf as the guide's nginx has it: the block, then the server proxying to it."""
    return (block + "\nserver {\n    listen 80 default_server;\n    server_name _;\n\n"
            "    location / {\n"
            f"        proxy_pass http://{upstream};\n"
            "        proxy_set_header Host $host;\n"
            "        proxy_set_header X-Real-IP $remote_addr;\n"
            "        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n"
            "    }\n}\n")


class GuideSite(Site):
    def __init__(self, stack: Stack, tmp_path: Path, *, serving: str = "blue", backup: str | None = "green",
                 running: tuple[str, ...] | None = None, block_in: str = "default.conf", ambiguous: bool = False,
                 versions: dict[str, str] | None = None, **site) -> None:
        super().__init__(stack, tmp_path, wire_nginx=False,
                         service={"server_params": PARAMS, **site.pop("service", {})}, **site)
        self.versions = versions or {serving: "v1", **({backup: "v0"} if backup else {})}
        running = running if running is not None else tuple(c for c in (serving, backup) if c)
        for color in running:
            # The test app answers `X-App-Color: none` unless told its color; the guide's app sends no such header,
            # which bluegreen's verification accepts. Told, it checks as strictly as for containers it started.
            stack.run_app(color, version=self.versions.get(color, "v0"), env={"BLUEGREEN_COLOR": color},
                          restart_policy={"Name": "unless-stopped"})
        block = guide_block(UPSTREAM, stack.prefix, serving, backup, ambiguous=ambiguous)
        if block_in == "own":
            stack.write_nginx_file(UPSTREAM_FILE, block)
            stack.write_nginx_file("conf.d/default.conf", guide_site_conf(UPSTREAM, ""))
        else:
            stack.write_nginx_file("conf.d/default.conf", guide_site_conf(UPSTREAM, block))
        stack.reload_nginx()
        self.serving, self.backup = serving, backup
        if serving in running:  # the reload is asynchronous: wait until the serving color answers
            wait_until(lambda: version(self) == self.versions[serving], 10, f"nginx to serve {serving}")

    def default_conf(self) -> str:
        return self.stack.read_nginx_file("conf.d/default.conf")
