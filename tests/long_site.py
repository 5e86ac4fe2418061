"""The site docs/real-backend.md recommends for long answers and WebSockets, on a test stack (read time scaled down
by the caller): the Upgrade/Connection map, `proxy_read_timeout`, `proxy_next_upstream`. tests/test_long_connections.py
and bench/ws_workers_bench.py put it in front of bluegreen's upstream."""

from __future__ import annotations

from site_under_test import UPSTREAM, Site

LOCATION = """map $http_upgrade $connection_upgrade {{ default upgrade; '' ''; }}
server {{
    listen 80 default_server;
    location / {{
        proxy_pass http://{target};
        proxy_http_version 1.1;
        proxy_set_header Upgrade $http_upgrade;
        proxy_set_header Connection $connection_upgrade;
        proxy_read_timeout {read_timeout};
        proxy_next_upstream {next_upstream};
    }}
}}
"""


def wire(site: Site, *, read_timeout: str = "60s", next_upstream: str = "off") -> None:
    """The site's server block, proxying to bluegreen's upstream (shared-dict: to its variable), reloaded."""
    stack = site.stack
    target = ("$" if getattr(stack, "switch", "reload") == "shared-dict" else "") + UPSTREAM
    stack.write_nginx_file("conf.d/default.conf", LOCATION.format(target=target, read_timeout=read_timeout,
                                                                  next_upstream=next_upstream))
    stack.reload_nginx()
