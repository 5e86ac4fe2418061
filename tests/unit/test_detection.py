"""Detection from what nginx loaded (`nginx -T`) and the guard: the service's block is found in whatever file
holds it, each color's instances named anywhere else are seen, what cannot be told refuses, and nothing nginx
names is ever stopped, replaced or set aside."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from bluegreen.config.schema import parse as parse_config
from bluegreen.errors import DeployFailed, Inconsistent
from bluegreen.operations.detect import find, named
from bluegreen.operations.guard import Guard, Guarded
from bluegreen.operations.look import look, untrusted
from bluegreen.parts.instance import ContainerInfo
from bluegreen.parts.nginx import Generation
from bluegreen.parts.nginx_config import parse_dump
from bluegreen.parts.runtime import Survey
from bluegreen.parts.state import ServiceState
from bluegreen.parts.switch import CONFIRMED, RELOADED, ReloadSwitch, Scan, Served
from bluegreen.parts.upstream import parse_upstream

OWN = "/etc/nginx/conf.d/maice_backend.upstream.conf"
SITE = "/etc/nginx/conf.d/default.conf"
NGINX_CONF = "/etc/nginx/nginx.conf"


def service(**extra):
    config = {"network": "n", "services": {"backend": {
        "container_prefix": "maice-back", "upstream": "maice_backend", "upstream_file": OWN, **extra}}}
    return parse_config(config).service("backend")


SERVICE = service()


def block(serving: str, backup: str | None = None, *, extra: str = "") -> str:
    lines = [f"    server maice-back-{serving}:8000 max_fails=3 fail_timeout=30s;"]
    if backup:
        lines.append(f"    server maice-back-{backup}:8000 max_fails=3 fail_timeout=30s backup;")
    return "upstream maice_backend {\n" + "\n".join(lines) + extra + "\n}\n"


def site(upstream: str = "", *, location: str = "") -> str:
    return upstream + "server {\n    listen 80;\n    location / { proxy_pass http://maice_backend; }\n" + location + "}\n"


def dump_text(*files: tuple[str, str]) -> str:
    return "".join(f"# configuration file {path}:\n{text}\n" for path, text in files)


def scan_of(*files: tuple[str, str], edited: tuple[str, ...] = (), workers=frozenset({"7"})) -> Scan:
    return Scan(parse_dump(dump_text((NGINX_CONF, "http { include conf.d/*.conf; }\n"), *files)), OWN, workers,
                edited)


def info(name: str, *, ip: str | None = None, ours: bool = False) -> ContainerInfo:
    return ContainerInfo(name=name, id=f"id-{name}", image="img", state="running", health=None,
                         labels={"bluegreen.service": "backend"} if ours else {}, ip=ip)


INSTANCES = {"blue": (info("maice-back-blue", ip="10.0.0.2"),), "green": (info("maice-back-green", ip="10.0.0.3"),)}


# --- detect: what the scan says --------------------------------------------------------------------------------
def test_the_guides_inline_block_is_found_outside_bluegreens_file():
    """The block inline in default.conf: found with its file and line; its servers are not mentions elsewhere."""
    found = find(SERVICE, scan_of((SITE, site(block("blue", "green")))), names=("maice_backend",),
                 instances=INSTANCES)
    assert [b.where for b in found.outside] == [f"{SITE}:1"] and found.elsewhere == ()
    assert found.view.primaries == ("maice-back-blue",) and found.view.backups == ("maice-back-green",)


def test_the_block_in_bluegreens_own_file_is_not_outside():
    found = find(SERVICE, scan_of((OWN, block("blue", "green")), (SITE, site())), names=("maice_backend",),
                 instances=INSTANCES)
    assert found.outside == () and found.view is None and found.elsewhere == ()


def test_a_container_named_straight_in_a_location_is_a_mention_elsewhere():
    """`proxy_pass http://maice-back-green:8000;` in a location, by name or by address: mentions, with lines."""
    text = site(location="    location /ws { proxy_pass http://maice-back-green:8000; }\n"
                         "    location /x { proxy_pass http://10.0.0.2:8000; }\n")
    found = find(SERVICE, scan_of((OWN, block("blue", "green")), (SITE, text)), names=("maice_backend",),
                 instances=INSTANCES)
    assert [(m.host, m.where, m.directive) for m in found.elsewhere] == [
        ("maice-back-green", f"{SITE}:4", "proxy_pass"), ("10.0.0.2", f"{SITE}:5", "proxy_pass")]


def test_shared_dict_blocks_count_as_the_service_block():
    found = find(SERVICE, scan_of((SITE, "upstream maice_backend_green { server maice-back-green:8000; }\n")),
                 names=("maice_backend", "maice_backend_blue", "maice_backend_green"), instances=INSTANCES)
    assert [b.name for b in found.outside] == ["maice_backend_green"]


def test_an_unreadable_configuration_is_reported_not_guessed():
    found = find(SERVICE, Scan(None, OWN, frozenset(), error="[emerg] duplicate upstream"), names=("maice_backend",),
                 instances=INSTANCES)
    assert found.error == "[emerg] duplicate upstream" and found.outside == ()


def test_named_reads_bluegreens_file_from_its_texts_not_from_the_disk_alone():
    """A color named in the text bluegreen confirmed counts even when the disk no longer names it; a kept
    container's name (`-replaced`) or a longer one is not the color's."""
    scan = scan_of((OWN, block("blue")), (SITE, site(location="    location /k { proxy_pass http://maice-back-green-replaced:8000; }\n")))
    assert named(scan, {"maice-back-green"}, (scan.own_text,)) == []
    [mention] = named(scan, {"maice-back-green"}, (block("blue", "green"), scan.own_text))
    assert (mention.path, mention.line, mention.directive) == (OWN, 3, "server")


def test_a_swarm_task_is_named_by_its_address():
    """Swarm's rendered file names addresses (the instance beside them is a comment nginx never reads)."""
    text = "upstream maice_backend {\n    server 10.213.0.5:8000; # instance maice-back-blue.1\n}\n"
    scan = scan_of((OWN, text))
    [mention] = named(scan, {"maice-back-blue.1", "10.213.0.5"}, (text,))
    assert mention.host == "10.213.0.5"


# --- the look: when it scans, and what it makes of it -----------------------------------------------------------
@pytest.mark.parametrize("state, loaded, blocks, expected", [
    (ServiceState(), "x", 1, True),  # no record yet: a first deploy
    (ServiceState(loaded_config="a"), "a", 1, False),  # nginx serves what bluegreen confirmed
    (ServiceState(loaded_config="a", pending="b"), "b", 1, False),  # what it was installing (the quick path)
    (ServiceState(loaded_config="a"), "c", 1, True),  # something else (a hand edit, reloaded)
    (ServiceState(loaded_config="a"), None, 1, True),  # not known
    (ServiceState(loaded_config="a"), "a", 0, True),  # bluegreen's file without the block
    (ServiceState(loaded_config="a"), "a", 2, True),
])
def test_the_look_scans_only_when_bluegreens_record_is_not_the_whole_truth(state, loaded, blocks, expected):
    served = SimpleNamespace(loaded=loaded, view=SimpleNamespace(blocks=blocks))
    assert untrusted(state, served) is expected


class FakeSwitch:
    mode, container, path = "reload", "nginx", OWN

    def __init__(self, own: str | None, scan: Scan, *, how: str = RELOADED) -> None:
        self.own, self._scan, self.how, self.scans = own, scan, how, 0

    def running(self) -> bool:
        return True

    def look(self, record) -> Served:
        loaded = record.text if self.how == CONFIRMED else self.own
        return Served(self.own, loaded, self.how, 1.0, Generation(frozenset({"7"}), 1.0),
                      parse_upstream(loaded, "maice_backend"), "nginx")

    def view_of(self, text):
        return parse_upstream(text, "maice_backend")

    def scan(self) -> Scan:
        self.scans += 1
        return self._scan


def look_at(switch: FakeSwitch, state: ServiceState = ServiceState(), instances=INSTANCES):
    runtime = SimpleNamespace(survey=lambda: Survey(instances), renders_addresses=False)
    state_dir = SimpleNamespace(load=lambda: state, stale_holder=lambda: None)
    return look(SERVICE, runtime, switch, state_dir)


def test_the_guides_layout_reads_as_blue_serving_from_default_conf_and_refuses():
    """No own file, the block inline in default.conf: active blue, from default.conf:1; operations refuse."""
    live = look_at(FakeSwitch(None, scan_of((SITE, site(block("blue", "green"))))))
    assert (live.active, live.backup, live.where, live.outside) == ("blue", "green", f"{SITE}:1", True)
    assert [p.key.rsplit(".", 1)[1] for p in live.problems] == ["block_outside"]
    assert live.refusal is live.problems[0] and live.refusal.params["where"] == f"{SITE}:1"


def test_green_serving_and_one_color_alone_read_the_same_way():
    live = look_at(FakeSwitch(None, scan_of((SITE, site(block("green", "blue"))))))
    assert (live.active, live.backup) == ("green", "blue")
    live = look_at(FakeSwitch(None, scan_of((SITE, site(block("blue"))))), instances={"blue": INSTANCES["blue"], "green": ()})
    assert (live.active, live.backup, live.refusal.key) == ("blue", None, "status.problem.block_outside")


def test_the_block_already_in_bluegreens_file_is_a_first_deploy_that_proceeds():
    live = look_at(FakeSwitch(block("blue", "green"), scan_of((OWN, block("blue", "green")), (SITE, site()))))
    assert (live.active, live.backup, live.where, live.refusal) == ("blue", "green", f"{OWN}:1", None)


def test_a_placeholder_in_bluegreens_file_is_a_first_deploy_as_before():
    placeholder = "upstream maice_backend { server 127.0.0.1:9 down; }\n"
    live = look_at(FakeSwitch(placeholder, scan_of((OWN, placeholder), (SITE, site()))))
    assert live.active is None and live.refusal is None
    assert [p.key for p in live.problems] == ["status.problem.foreign"]


@pytest.mark.parametrize("files, key", [
    (((SITE, site(location="    location / { proxy_pass http://maice-back-blue:8000; }\n")),),
     "status.problem.unmanaged"),  # no block anywhere, a color's container named straight
    (((OWN, block("blue")), (SITE, site(block("green")))), "status.problem.many_blocks"),
    (((SITE, site(block("blue", extra="\n    server maice-back-green:8000;"))),), "status.problem.block_outside"),
])
def test_what_cannot_be_told_refuses_naming_the_file_and_line(files, key):
    own = next((t for p, t in files if p == OWN), None)
    live = look_at(FakeSwitch(own, scan_of(*files)))
    assert live.refusal is not None and live.refusal.key == key
    assert SITE in live.refusal.params["where"]


def test_two_primary_colors_and_a_foreign_server_beside_a_color_refuse():
    for text in (block("blue", extra="\n    server maice-back-green:8000;"),
                 block("blue", extra="\n    server 10.9.9.9:8000;")):
        live = look_at(FakeSwitch(text, scan_of((OWN, text), (SITE, site()))))
        assert live.refusal is not None and live.refusal.params["where"] == f"{OWN}:1", live.problems


def test_an_unreadable_configuration_and_an_unloaded_edit_refuse():
    live = look_at(FakeSwitch(None, Scan(None, OWN, frozenset(), error="[emerg] x")))
    assert live.refusal.key == "status.problem.unreadable"
    live = look_at(FakeSwitch(block("blue"), scan_of((OWN, block("blue")), (SITE, site()), edited=(SITE,))))
    assert live.refusal.key == "status.problem.edited_elsewhere" and live.refusal.params["path"] == SITE


def test_a_steady_state_never_scans():
    """bluegreen confirmed what nginx serves: no `nginx -T` (status, deploys and rollbacks stay as fast)."""
    switch = FakeSwitch(block("blue"), scan_of(), how=CONFIRMED)
    live = look_at(switch, ServiceState(loaded_config=block("blue"), workers=["7"]))
    assert switch.scans == 0 and live.found is None and live.active == "blue"


# --- the guard -------------------------------------------------------------------------------------------------
class GuardSwitch:
    container = "nginx"

    def __init__(self, scan: Scan) -> None:
        self._scan, self.scans = scan, 0

    def scan(self) -> Scan:
        self.scans += 1
        return self._scan


def guard(scan: Scan, state: ServiceState = ServiceState()) -> tuple[Guard, GuardSwitch]:
    switch = GuardSwitch(scan)
    runtime = SimpleNamespace(display=lambda color: f"maice-back-{color}")
    return Guard(SERVICE, runtime, switch, SimpleNamespace(load=lambda: state)), switch  # type: ignore[arg-type]


BLUE = INSTANCES["blue"]


def test_nothing_to_stop_asks_nothing():
    g, switch = guard(scan_of())
    g.check((), color="blue")
    assert switch.scans == 0


def test_an_instance_named_by_another_file_is_never_stopped():
    g, _ = guard(scan_of((OWN, block("green")),
                         (SITE, site(location="    location /ws { proxy_pass http://maice-back-blue:8000; }\n"))))
    with pytest.raises(DeployFailed) as err:
        g.check(BLUE, color="blue")
    assert err.value.key == "guard.named" and err.value.params["where"] == f"{SITE}:4"
    assert err.value.exit_code == 1  # the deploy's normal failure path puts the previous state back


def test_an_instance_bluegreens_confirmed_file_names_is_never_stopped():
    g, _ = guard(scan_of((OWN, block("green")), (SITE, site())), ServiceState(loaded_config=block("green", "blue")))
    with pytest.raises(DeployFailed, match="maice-back-blue"):
        g.check(BLUE, color="blue")


def test_an_instance_nothing_names_may_stop():
    g, _ = guard(scan_of((OWN, block("green")), (SITE, site())), ServiceState(loaded_config=block("green")))
    g.check(BLUE, color="blue")


@pytest.mark.parametrize("scan, key", [
    (Scan(None, OWN, frozenset(), error="[emerg] unknown directive"), "guard.unreadable"),
    (scan_of((SITE, site()), edited=(SITE,)), "guard.edited"),
])
def test_not_knowing_is_never_stopping(scan, key):
    g, _ = guard(scan)
    with pytest.raises(DeployFailed) as err:
        g.check(BLUE, color="blue")
    assert err.value.key == key


@pytest.mark.parametrize("scan, key", [
    (Scan(None, OWN, frozenset(), error="[emerg] unknown directive"), "nginx.dump_failed"),
    (scan_of((SITE, site()), edited=(SITE,)), "guard.edited_ahead"),
    (scan_of((SITE, site(location="    set $b maice-back-blue;\n"))), "guard.refused"),
])
def test_ahead_refuses_with_nothing_changed(scan, key):
    g, _ = guard(scan)
    with pytest.raises(Inconsistent) as err:
        g.ahead(BLUE, color="blue")
    assert err.value.key == key and err.value.exit_code == 3


def test_ahead_leaves_bluegreens_own_file_to_the_operation():
    """The idle color named as `backup` in bluegreen's file is the deploy's to take out (make room)."""
    g, _ = guard(scan_of((OWN, block("green", "blue")), (SITE, site())))
    g.ahead(BLUE, color="blue")
    g.ahead((), color="blue")  # a color with no instance yet is still checked by its names


class Runtime:
    """Records what reaches the runtime."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def survey(self) -> Survey:
        return Survey(INSTANCES)

    def __getattr__(self, name: str):
        def call(*args, **kwargs):
            self.calls.append(name)
            return True
        return call


@pytest.mark.parametrize("call", [
    lambda r: r.set_aside("blue", grace=1), lambda r: r.remove("blue", grace=1),
    lambda r: r.start("blue", image="i", env={}, labels={}), lambda r: r.put_back("blue"),
    lambda r: r.remove_instances(BLUE, grace=0),
])
def test_every_call_that_stops_instances_asks_the_guard_first(call):
    """set aside, remove, start (a Swarm service replaced in place), put back, min_healthy's removals: a named
    instance stops the call before the runtime is reached."""
    inner = Runtime()
    g, _ = guard(scan_of((SITE, site(location="    location /ws { proxy_pass http://maice-back-blue:8000; }\n"))))
    with pytest.raises(DeployFailed, match="guard|Not stopping"):
        call(Guarded(inner, g))
    assert inner.calls == []
    g2, _ = guard(scan_of((SITE, site())))
    call(Guarded(inner, g2))
    assert len(inner.calls) == 1


def test_reading_and_probing_pass_through_unguarded():
    inner = Runtime()
    g, switch = guard(scan_of())
    guarded = Guarded(inner, g)
    guarded.instances("blue")
    guarded.probe_all([], "/health")
    assert inner.calls == ["instances", "probe_all"] and switch.scans == 0


# --- the scan: nginx -T once per generation ---------------------------------------------------------------------
class Gate:
    def __init__(self, text: str, mtimes: dict[str, float], started: float = 100.0) -> None:
        self.text, self.mtimes, self.workers, self.started, self.dumps = text, mtimes, {"7"}, started, 0
        self.path, self.container, self.fail = OWN, "nginx", False

    def generation(self) -> Generation:
        return Generation(frozenset(self.workers), self.started)

    def dump(self):
        self.dumps += 1
        if self.fail:
            raise Inconsistent("nginx.dump_failed", nginx="nginx", error="[emerg] broken")
        return parse_dump(self.text).with_mtimes(self.mtimes)


def test_a_scan_is_read_again_only_after_nginx_loaded_something():
    """Same workers: nginx serves what the last scan read, even if a file broke since; new workers: read again."""
    control = Gate(dump_text((OWN, block("blue")), (SITE, site())), {OWN: 50.0, SITE: 50.0})
    switch = ReloadSwitch(control, SERVICE)  # type: ignore[arg-type]
    first = switch.scan()
    control.fail = True
    assert switch.scan() is first and control.dumps == 1
    control.workers = {"8"}
    assert switch.scan().dump is None and control.dumps == 2


def test_files_changed_after_the_workers_started_are_edited_but_bluegreens_own_is_not():
    control = Gate(dump_text((OWN, block("blue")), (SITE, site())), {OWN: 200.0, SITE: 200.0})
    scan = ReloadSwitch(control, SERVICE).scan()  # type: ignore[arg-type]
    assert scan.edited == (SITE,) and not scan.known
    control.workers = {"9"}
    control.mtimes = {OWN: 200.0, SITE: 100.5}  # within the second of process ages
    assert ReloadSwitch(control, SERVICE).scan().edited == ()  # type: ignore[arg-type]
