"""parts/admin_socket.py: one request on a unix socket, bounded by one deadline for the whole exchange — a peer that
trickles its answer cannot hold the rollback's quick path longer than its timeout."""

from __future__ import annotations

import json
import time

import pytest

from bluegreen.parts import admin_socket
from socket_peers import UnixPeer, trickle

ANSWER = json.dumps({"color": "green", "source": "dict"}).encode()
HTTP = b"HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(ANSWER), ANSWER)


@pytest.fixture
def short_dir(tmp_path_factory):
    """A directory whose socket paths fit the 108 bytes a unix socket address allows."""
    return tmp_path_factory.mktemp("s")


def test_a_whole_answer_is_read(short_dir):
    with UnixPeer(str(short_dir / "a.sock"), trickle(HTTP, 0)) as peer:
        assert admin_socket.call(peer.path, "GET") == {"color": "green", "source": "dict"}
        assert peer.requests[0].startswith(b"GET /color HTTP/1.0\r\n")


def test_a_peer_trickling_its_answer_is_cut_at_the_deadline(short_dir):
    """One byte every 50 ms (each read alone would be well within the timeout): the exchange ends when its 0.5 s
    are spent, as unreachable, not after the ~4 s the whole answer takes."""
    with UnixPeer(str(short_dir / "t.sock"), trickle(HTTP, 0.05)) as peer:
        started = time.monotonic()
        with pytest.raises(admin_socket.AdminUnreachable, match="TimeoutError"):
            admin_socket.call(peer.path, "GET", timeout=0.5)
        took = time.monotonic() - started
    assert 0.45 <= took < 1.0, took


def test_a_probe_of_a_trickling_peer_fails_at_the_deadline(short_dir):
    with UnixPeer(str(short_dir / "p.sock"), trickle(HTTP, 0.05)) as peer:
        started = time.monotonic()
        ok, detail = admin_socket.probe(peer.path, "blue", timeout=0.5)
        took = time.monotonic() - started
    assert not ok and "TimeoutError" in detail and took < 1.0, (detail, took)


def test_an_answer_is_read_no_further_than_its_limit(short_dir):
    with UnixPeer(str(short_dir / "l.sock"), trickle(HTTP + b"x" * 100, 0)) as peer:
        status, body = admin_socket.request(peer.path, "GET", limit=len(HTTP) + 9)
    assert status == 200 and body == ANSWER + b"x" * 10  # limit + 1 bytes: the caller sees it was cut
