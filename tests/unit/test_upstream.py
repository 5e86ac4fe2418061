"""Reading the upstream back and rendering it: detection of the active color and of ambiguous configs."""

from __future__ import annotations

from bluegreen.config.schema import parse
from bluegreen.parts.render import render_upstream
from bluegreen.parts.upstream import parse_upstream

SERVICE = parse({"network": "n", "services": {"backend": {"container_prefix": "maice-back",
                                                          "upstream": "maice_backend"}}}).service("backend")

GUIDE_SAMPLE = """
upstream maice_backend {
    # Green 환경 (새로 배포된 환경 - 활성)
    server maice-back-green:8000 max_fails=3 fail_timeout=30s;

    # Blue 환경 (이전 환경 - 백업)
    server maice-back-green:8000 max_fails=3 fail_timeout=30s backup;
}
"""


def test_rendered_upstream_round_trips():
    """What render_upstream writes, parse_upstream reads back as the same primary and backup."""
    text = render_upstream(SERVICE, primary="green", backup="blue", generation="g1")
    view = parse_upstream(text, "maice_backend")
    assert view.blocks == 1
    assert view.primaries == ("maice-back-green",) and view.backups == ("maice-back-blue",)
    assert view.generation == "g1"
    assert "max_fails=3 fail_timeout=30s backup;" in text


def test_first_deploy_renders_no_backup():
    """With no previous color, the upstream has a single server and no backup line."""
    text = render_upstream(SERVICE, primary="blue", backup=None, generation="g")
    assert parse_upstream(text, "maice_backend").backups == ()
    assert "backup;" not in text


def test_guide_sample_names_the_same_container_twice():
    """The guide's own sample output is parsed as green primary and green backup."""
    view = parse_upstream(GUIDE_SAMPLE, "maice_backend")
    assert view.primaries == ("maice-back-green",) and view.backups == ("maice-back-green",)


def test_comments_do_not_count_as_servers():
    """A commented-out server line is not a server."""
    view = parse_upstream("upstream u {\n # server a:1;\n server b:1;\n}\n", "u")
    assert view.primaries == ("b",)


def test_every_server_of_a_block_on_one_line_counts():
    """`upstream u { server a:1; server b:1 backup; }` (a hand-written one-liner, as the README's placeholder is)
    names both: two colors as primaries there must read as two primaries, never as the first one alone."""
    view = parse_upstream("upstream u { server a:1; server b:1; server c:1 backup; }\n", "u")
    assert view.primaries == ("a", "b") and view.backups == ("c",) and view.servers == ("a:1", "b:1", "c:1")
    assert parse_upstream("upstream u {server a:1;server b:1 backup;}", "u").backups == ("b",)


def test_other_upstreams_and_missing_blocks():
    """Only the named upstream counts; a file without it has zero blocks; two definitions are counted."""
    text = "upstream other { server x:1; }\nupstream u { server a:1; }\nupstream u { server b:1; }\n"
    view = parse_upstream(text, "u")
    assert view.blocks == 2 and view.primaries == ("a", "b")
    assert parse_upstream("upstream other { server x:1; }", "u").blocks == 0
    assert parse_upstream(None, "u").blocks == 0


def test_the_preview_entry_admits_this_host_and_denies_nginxs_networks():
    """Both switches render one preview entry: loopback and each network's gateway (this host) allowed before each
    network's subnet is denied, so another container beside nginx never reaches the staged color."""
    from bluegreen.parts.render import render_shared_dict

    backend = {"container_prefix": "maice-back", "upstream": "maice_backend", "preview": {}}
    service = parse({"network": "n", "services": {"backend": backend}}).service("backend")
    segments = [("172.18.0.1", "172.18.0.0/16"), ("", "10.0.1.0/24"), ("fd00::1", "fd00::/64")]
    texts = [render_upstream(service, primary="green", backup=None, generation="g", preview="blue", segments=segments),
             render_shared_dict(service, primary="green", backup=None, generation="g", preview="blue",
                                admin_socket="/run/bluegreen/b.sock", module="/m.js", key_digest="0" * 64,
                                segments=segments)]
    for text in texts:
        entry = text[text.index("listen 8081;"):]
        rules = [line.strip() for line in entry.splitlines() if line.strip().startswith(("allow", "deny"))]
        assert rules == ["allow 127.0.0.1;", "allow 172.18.0.1;", "allow fd00::1;", "deny 10.0.1.0/24;",
                         "deny 172.18.0.0/16;", "deny fd00::/64;"], entry
