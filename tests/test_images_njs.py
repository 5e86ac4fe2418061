"""bluegreen-test/nginx:1.30: nginx 1.30 with the njs module, a drop-in for bluegreen-test/nginx:1."""
from __future__ import annotations

import dataclasses

import httpx
import pytest

from helpers import wait_until
from stack import Stack

HELLO_JS = """\
function hello(r) {
    const hits = ngx.shared.hits.incr('n', 1);
    r.return(200, `njs ${njs.version} hits=${hits}\\n`);
}
export default { hello };
"""

HELLO_SITE = """\
js_import hello from /etc/nginx/conf.d/hello.js;
js_shared_dict_zone zone=hits:64k type=number;
server {
    listen 80 default_server;
    location / { js_content hello.hello; }
}
"""


@pytest.fixture
def njs_stack(docker_client, images, nginx_njs_image) -> Stack:
    """A fresh network + the 1.30 nginx published on 127.0.0.1; removed afterwards."""
    s = Stack(docker_client, dataclasses.replace(images, nginx=nginx_njs_image))
    try:
        s.start()
        yield s
    finally:
        s.close()


def test_njs_image_is_nginx_1_30_serving_the_placeholder_and_logging(njs_stack):
    """nginx -V says 1.30.6; the placeholder answers 503 and the request is in the access log."""
    code, output = njs_stack.nginx_exec("nginx", "-V")
    assert code == 0
    assert "nginx version: nginx/1.30.6" in output
    r = httpx.get(njs_stack.public_url + "/probe")
    assert r.status_code == 503
    assert r.headers["X-Bluegreen-Placeholder"] == "1"
    code, log = njs_stack.nginx_exec("cat", "/var/log/nginx/access.log")
    assert code == 0
    assert 'status=503' in log and 'request="GET /probe HTTP/1.1"' in log


def test_njs_image_loads_njs_and_serves_a_js_handler(njs_stack):
    """A site with js_import, js_content and a shared dict passes nginx -t and is served by njs."""
    njs_stack.write_nginx_file("conf.d/hello.js", HELLO_JS)
    njs_stack.write_nginx_file("conf.d/default.conf", HELLO_SITE)
    code, output = njs_stack.nginx_exec("nginx", "-t")
    assert code == 0, output
    njs_stack.reload_nginx()

    def njs_answer() -> str | None:
        text = httpx.get(njs_stack.public_url).text
        return text if text.startswith("njs ") else None

    body = wait_until(njs_answer, 10, "the njs handler to answer")
    assert body.startswith("njs 1.0.")
    hits = [int(httpx.get(njs_stack.public_url).text.split("hits=")[1]) for _ in range(3)]
    assert hits == sorted(hits) and len(set(hits)) == 3  # one counter shared by the workers


def test_njs_image_reload_applies_a_new_config_with_new_workers(njs_stack):
    """nginx -s reload swaps the workers and the next requests see the new config."""
    before = njs_stack.nginx_worker_pids()
    for generation in ("1", "2"):
        njs_stack.write_nginx_file(
            "conf.d/default.conf",
            "server {\n    listen 80 default_server;\n"
            f"    location / {{ add_header X-Gen {generation} always; return 200 \"gen\\n\"; }}\n}}\n",
        )
        njs_stack.reload_nginx()
        wait_until(lambda: httpx.get(njs_stack.public_url).headers.get("X-Gen") == generation,
                   10, f"generation {generation} to be served")
    wait_until(lambda: not (njs_stack.nginx_worker_pids() & before), 10, "the old workers to exit")
    assert len(njs_stack.nginx_worker_pids()) == 2
