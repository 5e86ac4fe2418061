"""What `bluegreen init` concludes from what it read: the serving color, the values of a new bluegreen.yml, and a
refusal (exit 3, file and line named) whenever the block does not say which color serves."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bluegreen import config
from bluegreen.errors import Inconsistent
from bluegreen.operations import init_plan
from bluegreen.parts.nginx_config import parse_dump
from bluegreen.parts.render import render_config

REPO = Path(__file__).resolve().parents[2]
P = "max_fails=3 fail_timeout=30s"


def dump_of(*files: tuple[str, str]):
    return parse_dump("".join(f"# configuration file {path}:\n{text}\n" for path, text in files))


def site(block: str, *, where: str = "/etc/nginx/conf.d/default.conf"):
    return dump_of(("/etc/nginx/nginx.conf", "events {}\nhttp { include /etc/nginx/conf.d/*.conf; }\n"),
                   (where, block + "server { listen 80; location / { proxy_pass http://maice_backend; } }\n"))


def block(*servers: str, name: str = "maice_backend") -> str:
    return f"upstream {name} {{\n" + "".join(f"    server {s};\n" for s in servers) + "}\n"


@pytest.mark.parametrize("servers, serving, backup", [
    ((f"maice-back-blue:8000 {P}", f"maice-back-green:8000 {P} backup"), "blue", "green"),  # the guide's picture
    ((f"maice-back-green:8000 {P}", f"maice-back-blue:8000 {P} backup"), "green", "blue"),  # after a deploy
    ((f"maice-back-blue:8000 {P}",), "blue", None),  # only one color
    ((f"maice-back-green:8000 {P}", f"maice-back-green:8000 {P} backup"), "green", None),  # the guide's sample
])
def test_the_one_primary_serves(servers, serving, backup):
    """The primary is what users get (a backup only when every primary is down); named twice, it still serves."""
    layout = init_plan.find_layout(site(block(*servers)), upstream=None, prefix=None)
    assert (layout.upstream, layout.prefix, layout.serving, layout.backup) == ("maice_backend", "maice-back", serving,
                                                                             backup)
    assert (layout.port, layout.params, layout.block.where) == (8000, ("max_fails=3", "fail_timeout=30s"),
                                                                "/etc/nginx/conf.d/default.conf:1")


@pytest.mark.parametrize("servers, key", [
    (("maice-back-blue:8000", "maice-back-green:8000"), "init.two_primaries"),
    (("maice-back-blue:8000 backup",), "init.no_primary"),
    (("maice-back:8000", "maice-back-green:8000 backup"), "init.foreign_server"),
    (("10.0.0.5:8000",), "init.foreign_server"),
    (("maice-back-blue:8000", "maice-back-green:9000 backup"), "init.ports"),
    (("maice-back-blue:8000 slow_start=30s",), "init.server_param"),
    (("maice-back-blue:8000", "other-green:8000 backup"), "init.two_prefixes"),
])
def test_a_block_that_does_not_say_which_color_serves_is_refused_with_its_file_and_line(servers, key):
    with pytest.raises(Inconsistent) as refused:
        init_plan.find_layout(site(block(*servers)), upstream="maice_backend", prefix=None)
    assert refused.value.key == key and refused.value.exit_code == 3
    assert "/etc/nginx/conf.d/default.conf:" in str(refused.value.params)


def test_found_by_the_colors_it_names_or_refused_when_none_or_several_do():
    """Without a name: the one block naming <prefix>-blue/-green; none, or two, is not guessed."""
    other = "upstream static { server files:80; }\n"
    layout = init_plan.find_layout(site(other + block("maice-back-blue:8000")), upstream=None, prefix=None)
    assert layout.upstream == "maice_backend"
    with pytest.raises(Inconsistent) as none:
        init_plan.find_layout(site(other), upstream=None, prefix=None)
    assert none.value.key == "init.no_color_block" and none.value.params["upstreams"] == "static"
    two = block("maice-back-blue:8000") + block("api-blue:9000", name="api_backend")
    with pytest.raises(Inconsistent) as many:
        init_plan.find_layout(site(two), upstream=None, prefix=None)
    assert many.value.key == "init.many_blocks"


def test_a_stream_upstream_of_the_same_name_is_not_the_sites():
    """`stream { upstream maice_backend … }` (TCP) may share the name: the http one is the service's."""
    dump = dump_of(("/etc/nginx/nginx.conf", "events {}\nstream { upstream maice_backend { server db-blue:5432; } }\n"
                    "http { include /etc/nginx/conf.d/*.conf; }\n"),
                   ("/etc/nginx/conf.d/default.conf", block("maice-back-blue:8000")))
    layout = init_plan.find_layout(dump, upstream="maice_backend", prefix=None)
    assert layout.block.path == "/etc/nginx/conf.d/default.conf" and layout.block.context == ("http",)


def test_an_include_reads_bluegreens_file_only_where_its_glob_matches():
    """nginx's glob: `conf.d/*.conf` reads conf.d/x.conf (not a dotfile, not a subdirectory); context is http."""
    dump = site(block("maice-back-blue:8000"))
    assert dump.including("/etc/nginx/conf.d/maice_backend.upstream.conf") is not None
    assert dump.including("/etc/nginx/conf.d/.hidden.conf") is None
    assert dump.including("/etc/nginx/conf.d/sub/x.conf") is None
    assert dump.including("/etc/nginx/sites-enabled/x.conf") is None
    assert dump.context("/etc/nginx/conf.d/default.conf") == ("http",)


@pytest.mark.parametrize("published, url", [
    ((("80/tcp", "0.0.0.0", "80"),), "http://127.0.0.1"),
    ((("80/tcp", "127.0.0.1", "32768"),), "http://127.0.0.1:32768"),
    ((("443/tcp", "", "443"),), "https://127.0.0.1"),
    ((("8081/tcp", "127.0.0.1", "8081"),), None),
])
def test_the_public_entry_is_nginxs_published_port(published, url):
    assert init_plan.public_url(published) == url


def test_variables_become_credentials_by_name_and_a_username_password_pair_one_credential():
    """Names only: the image's own and bluegreen's are left out; PATH-like names cannot come from the environment."""
    env, unbound = init_plan.env_entries(
        ["PATH", "DATABASE_URL", "ADMIN_USERNAME", "ADMIN_PASSWORD", "LD_PRELOAD", "BLUEGREEN_COLOR", "LANG"],
        ["PATH", "LANG"], "maice-back")
    assert env == (("DATABASE_URL", "maice-back-database-url", None), ("ADMIN_USERNAME", "maice-back-admin", "username"),
                   ("ADMIN_PASSWORD", "maice-back-admin", "password"))
    assert unbound == ("LD_PRELOAD",)


@pytest.mark.parametrize("image, repository", [
    ("registry:5000/maice-back:123", "registry:5000/maice-back"), ("maice-back", "maice-back"),
    ("maice-back@sha256:" + "a" * 64, "maice-back"), ("localhost:5000/a/b:v1@sha256:" + "b" * 64, "localhost:5000/a/b"),
])
def test_the_image_repository_without_tag_or_digest(image, repository):
    assert init_plan.image_repository(image) == repository


# --- the bluegreen.yml init writes --------------------------------------------------------------------------------
VALUES = init_plan.Values(
    service="backend", network="maicesystem_maice_network", state_dir="/var/lib/bluegreen", nginx="nginx",
    reload="signal", public_url="http://127.0.0.1", switch="reload", admin_dir="/run/bluegreen",
    image="registry:5000/maice-back:${BUILD_NUMBER}", prefix="maice-back", port=8000, upstream="maice_backend",
    upstream_file="/etc/nginx/conf.d/maice_backend.upstream.conf", server_params=P, restart="unless-stopped",
    volumes=("/srv/maice/uploads:/app/uploads", "maice-cache:/cache:ro"),
    env=(("DATABASE_URL", "maice-back-database-url", None), ("ADMIN_USERNAME", "maice-back-admin", "username"),
         ("ADMIN_PASSWORD", "maice-back-admin", "password")), env_unbound=("LD_PRELOAD",))


def _written(values: init_plan.Values, tmp_path: Path):
    text = render_config({**values.__dict__, "serving": "blue"})
    path = tmp_path / "bluegreen.yml"
    path.write_text(text)
    return text, config.load(path)


def test_the_written_file_passes_config_check_and_says_what_was_read(tmp_path):
    text, cfg = _written(VALUES, tmp_path)
    svc = cfg.service("backend")
    assert (cfg.network, cfg.nginx.container, cfg.nginx.switch, svc.container_prefix, svc.port, svc.upstream) == (
        "maicesystem_maice_network", "nginx", "reload", "maice-back", 8000, "maice_backend")
    assert svc.server_params == ("max_fails=3", "fail_timeout=30s") and svc.volumes == VALUES.volumes
    assert [(v.name, v.credential, v.field) for v in svc.env] == list(VALUES.env)
    assert "# LD_PRELOAD: {value: …}" in text and svc.retain is None and svc.preview is None


def test_the_written_file_has_every_comment_of_the_example(tmp_path):
    """The same comments as examples/maice/bluegreen.yml (its first line names the MAICE system), so the two cannot
    drift; the keys the example sets that init cannot know are there, commented out."""
    text, _ = _written(VALUES, tmp_path)
    example = (REPO / "examples/maice/bluegreen.yml").read_text()
    written = {part for line in text.splitlines() if "#" in line
               for part in (line.split("#", 1)[1].strip(), line.rsplit("#", 1)[1].strip())}
    missing = [line for line in example.splitlines()[1:] if "#" in line
               and line.split("#", 1)[1].strip() not in written and not line.lstrip().startswith("# bluegreen config")]
    assert missing == []
    example_keys = {line.split(":")[0].strip() for line in example.splitlines() if ":" in line
                    and not line.lstrip().startswith("#")}
    written_keys = {line.lstrip(" #").split(":")[0] for line in text.splitlines() if ":" in line}
    assert example_keys - written_keys <= {"com.maice.team", "REDIS_URL", "LOG_LEVEL", "OPENAI_API_KEY",
                                           "GOOGLE_CLIENT_ID", "GOOGLE_CLIENT_SECRET", "SESSION_SECRET_KEY"}


@pytest.mark.parametrize("field, value", [
    ("state_dir", "/srv/blue green #1/state"), ("state_dir", "/srv/a: b"), ("network", "on"),
    ("public_url", "http://127.0.0.1:8080"),
])
def test_values_with_yaml_meaning_are_written_so_they_read_back_unchanged(tmp_path, field, value):
    """A `#`, `: ` or a YAML word (`on`) in a value is quoted: what init read is what bluegreen.yml says."""
    values = init_plan.Values(**{**VALUES.__dict__, field: value})
    text = render_config({**values.__dict__, "serving": "blue"})
    doc = yaml.safe_load(text)
    assert (doc.get(field) if field != "public_url" else doc["nginx"]["public_url"]) == value
