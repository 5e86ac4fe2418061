"""`NginxControl.check`: nginx's version, modules and configuration from one exec (`nginx -V`, then `nginx -T`)."""

from __future__ import annotations

from bluegreen.clock import ManualClock
from bluegreen.parts.nginx import NginxControl
from bluegreen.config.settings import Nginx

ABOUT = ("nginx version: nginx/1.22.1\nbuilt with OpenSSL 3.0\n"
         "configure arguments: --with-http_ssl_module --add-dynamic-module=/b/njs/nginx\n")
DUMP = "# configuration file /etc/nginx/nginx.conf:\nhttp { include conf.d/*.conf; }\n\n"
MARK = "# bluegreen: nginx -T follows\n"
UNRESOLVED = ('nginx: [emerg] host not found in upstream "a-blue:8000" in /etc/nginx/conf.d/default.conf:2\n'
              "nginx: configuration file /etc/nginx/nginx.conf test failed\n")


class _Docker:
    def __init__(self, *answers: tuple[int, str, str]) -> None:
        self.answers, self.calls = list(answers), 0

    def exec_split(self, container: str, cmd: list[str]) -> tuple[int, str, str]:
        assert cmd[:2] == ["sh", "-c"] and "nginx -V" in cmd[2] and "exec nginx -T" in cmd[2]
        self.calls += 1
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


def _check(docker: _Docker, clock: ManualClock | None = None):
    control = NginxControl(docker, Nginx(container="nginx"), "/etc/nginx/conf.d/app.upstream.conf",  # type: ignore[arg-type]
                     clock or ManualClock())
    return control.check()


def test_a_configuration_that_loads_gives_its_dump_version_and_configure_arguments():
    checked = _check(_Docker((0, ABOUT + MARK + DUMP, "nginx: the configuration file … syntax is ok\n")))
    assert checked.version == "1.22.1" and checked.error == ""
    assert "--add-dynamic-module=/b/njs/nginx" in checked.configure
    assert [f.path for f in checked.dump.files] == ["/etc/nginx/nginx.conf"]


def test_a_configuration_that_fails_gives_nginxs_error_line_and_no_dump():
    checked = _check(_Docker((1, ABOUT + MARK, 'nginx: [emerg] unknown directive "x" in /etc/nginx/conf.d/a.conf:1\n'
                                               "nginx: configuration file /etc/nginx/nginx.conf test failed\n")))
    assert checked.dump is None and checked.version == "1.22.1"
    assert checked.error == 'nginx: [emerg] unknown directive "x" in /etc/nginx/conf.d/a.conf:1'


def test_a_name_dockers_dns_missed_is_tried_again_within_a_bound():
    docker, clock = _Docker((1, ABOUT + MARK, UNRESOLVED), (0, ABOUT + MARK + DUMP, "")), ManualClock()
    assert _check(docker, clock).dump is not None and docker.calls == 2
    docker, clock = _Docker((1, ABOUT + MARK, UNRESOLVED)), ManualClock()
    checked = _check(docker, clock)
    assert checked.dump is None and "host not found" in checked.error and sum(clock.slept) <= 3.5


def test_the_time_and_pid_nginx_logs_to_stderr_are_left_out_of_its_error_line():
    logged = '2026/12/07 06:44:49 [emerg] 79#79: unknown directive "servr" in /etc/nginx/conf.d/x.conf:1\n'
    checked = _check(_Docker((1, ABOUT + MARK, logged)))
    assert checked.error == '[emerg] unknown directive "servr" in /etc/nginx/conf.d/x.conf:1'
