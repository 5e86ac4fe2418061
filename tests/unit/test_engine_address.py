"""parts/engine_address.py: the address a container's name has on a network now, from one request on the engine's
unix socket (a fake engine here: the real one is exercised by tests/test_quick_rollback_reload.py) — and None, with
no request at all, whenever that is not certain."""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qs, urlsplit

import pytest

from bluegreen.parts import engine_address
from socket_peers import UnixPeer

BLUE = {"Names": ["/up-blue"], "State": "running",
        "NetworkSettings": {"Networks": {"other": {"IPAddress": "10.9.0.2"}, "net": {"IPAddress": "172.20.0.5"}}}}


def engine(answer, status: int = 200):
    """A handler answering the container list as the engine does (HTTP/1.0: the body, then close)."""
    body = answer if isinstance(answer, bytes) else json.dumps(answer).encode()

    def handle(conn, request: bytes) -> None:
        conn.sendall(b"HTTP/1.0 %d X\r\nContent-Type: application/json\r\n\r\n%s" % (status, body))

    return handle


@pytest.fixture
def sock(tmp_path_factory):
    return str(tmp_path_factory.mktemp("e") / "docker.sock")


def test_the_running_containers_address_on_the_network(sock):
    with UnixPeer(sock, engine([BLUE])) as peer:
        assert engine_address.address("up-blue", "net", environ={"DOCKER_HOST": f"unix://{sock}"}) == "172.20.0.5"
    target = peer.requests[0].split(b" ")[1].decode()
    assert urlsplit(target).path == "/containers/json"  # the list (no environment in it), never the inspect
    assert json.loads(parse_qs(urlsplit(target).query)["filters"][0]) == {"name": ["^/up\\-blue$"]}


@pytest.mark.parametrize("answer", [
    [],  # no running container by that name
    [{**BLUE, "State": "exited"}],
    [{**BLUE, "Names": ["/up-blue-2"]}],  # a name the filter would match as a pattern, not this one
    [{**BLUE, "NetworkSettings": {"Networks": {"other": {"IPAddress": "10.9.0.2"}}}}],  # not on the network
    [{**BLUE, "NetworkSettings": {"Networks": {"net": {"IPAddress": ""}}}}],
    [{**BLUE, "NetworkSettings": {"Networks": ["net"]}}],
    {"message": "page not found"},
    b"not json",
    b"[" * 100,
])
def test_nothing_certain_gives_no_address(sock, answer):
    with UnixPeer(sock, engine(answer)):
        assert engine_address.address("up-blue", "net", environ={"DOCKER_HOST": f"unix://{sock}"}) is None


def test_an_engine_error_gives_no_address(sock):
    with UnixPeer(sock, engine([BLUE], status=500)):
        assert engine_address.address("up-blue", "net", environ={"DOCKER_HOST": f"unix://{sock}"}) is None


def test_an_engine_that_does_not_answer_gives_no_address(tmp_path):
    assert engine_address.address("up-blue", "net", environ={"DOCKER_HOST": f"unix://{tmp_path}/none"}) is None


@pytest.mark.parametrize("host, expected", [
    (None, "/var/run/docker.sock"),  # the SDK's default
    ("", "/var/run/docker.sock"),
    ("unix:///run/user/1000/docker.sock", "/run/user/1000/docker.sock"),
    ("unix://", None),
    ("tcp://10.0.0.1:2376", None),  # over the network (TLS, SSH): the full path, through the SDK
    ("ssh://deploy@host", None),
])
def test_the_engines_socket_is_the_sdks(host, expected):
    assert engine_address.engine_socket({} if host is None else {"DOCKER_HOST": host}) == expected


@pytest.mark.parametrize("name", ["up-blue\r\nHost: evil", "up blue", "../../images/json", "up.blue?all=1", "ü"])
def test_a_hand_edited_name_stays_inside_its_filter(sock, name):
    """A name from a state edited by hand: one request line, to the container list, the name (and only it) in the
    filter — never another endpoint, header or parameter."""
    with UnixPeer(sock, engine([])) as peer:
        assert engine_address.address(name, "net", environ={"DOCKER_HOST": f"unix://{sock}"}) is None
    line, _, _ = peer.requests[0].partition(b"\r\n")
    method, target, version = line.decode("ascii").split(" ")
    query = parse_qs(urlsplit(target).query)
    assert (method, urlsplit(target).path, version, list(query)) == ("GET", "/containers/json", "HTTP/1.0", ["filters"])
    assert json.loads(query["filters"][0]) == {"name": [f"^/{re.escape(name)}$"]}
