"""parts/quick_ticket.py: when the rollback's quick path may act, and the one reason status gives when it may not."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bluegreen.files import digest
from bluegreen.parts.quick_ticket import REASONS, why_not
from bluegreen.parts.state import ServiceState

TEXT = "# bluegreen-generation: g1\njs_var $bg_up_file_color green;\nupstream up_green { server a-green:8000; }\n"
TICKET = {"config": "c1", "socket": "/run/bluegreen/up.sock", "text": digest(TEXT), "workers": ["63", "64"],
          "probe_timeout": 6.5}
STATE = ServiceState(loaded_config=TEXT, quick=TICKET)
ANSWER = {"color": "green", "source": "dict", "file_color": "green", "workers": ["64"], "disk": digest(TEXT)}


def test_ready_when_nginx_is_as_the_last_switch_left_it():
    assert why_not(STATE, ANSWER, "c1") is None  # worker 63 of the old load exited since: still the same nginx


@pytest.mark.parametrize("state, answer, config, reason", [
    (replace(STATE, quick=None), ANSWER, "c1", "no_ticket"),  # switch: reload, replicas, Swarm
    (replace(STATE, loaded_config=TEXT + "#\n"), ANSWER, "c1", "no_ticket"),  # a state changed without a switch
    (STATE, ANSWER, "c2", "config_changed"),
    (replace(STATE, pending=TEXT), ANSWER, "c1", "busy"),
    (replace(STATE, staged={"color": "blue"}), ANSWER, "c1", "busy"),
    (STATE, {**ANSWER, "color": "blue"}, "c1", "color_moved"),  # an operator's PUT
    (STATE, {**ANSWER, "source": "file"}, "c1", "color_moved"),  # restarted: the dictionary is empty
    (STATE, {**ANSWER, "disk": digest(TEXT + "#\n")}, "c1", "file_edited"),
    (STATE, {**ANSWER, "workers": ["64", "90"]}, "c1", "nginx_reloaded"),  # a process started since
    (STATE, {**ANSWER, "workers": None}, "c1", "nginx_reloaded"),  # a kernel that does not list them
    (STATE, None, "c1", "color_moved"),  # nginx did not answer
])
def test_each_reason(state, answer, config, reason):
    assert reason in REASONS and why_not(state, answer, config) == reason


# switch: reload — nginx seen from the host (reload_answer), not on a socket.
RELOAD_TEXT = "# bluegreen-generation: g1\nupstream up {\n    # green: active\n    server a-green:8000;\n}\n"
RELOAD_TICKET = {"kind": "reload", "config": "c1", "master": 41, "path": "/etc/nginx/conf.d/up.upstream.conf",
                 "color": "green", "text": digest(RELOAD_TEXT), "workers": ["63", "64"], "rollback": "…",
                 "instance": "up-blue", "network": "net", "port": 8000, "health_path": "/health", "probe_timeout": 5.0,
                 "reload_timeout": 10.0}
RELOAD_STATE = ServiceState(loaded_config=RELOAD_TEXT, quick=RELOAD_TICKET)
SEEN = {"master": True, "workers": ["64"], "disk": digest(RELOAD_TEXT)}


def test_reload_ready_when_the_host_sees_nginx_as_the_last_switch_left_it():
    assert why_not(RELOAD_STATE, SEEN, "c1") is None


@pytest.mark.parametrize("ticket, answer, reason", [
    ({**RELOAD_TICKET, "master": "41"}, SEEN, "no_ticket"),  # a state edited by hand: never signal a string
    ({**RELOAD_TICKET, "rollback": None}, SEEN, "no_ticket"),
    ({**RELOAD_TICKET, "color": "red"}, SEEN, "no_ticket"),
    ({**RELOAD_TICKET, "port": "8000"}, SEEN, "no_ticket"),
    ({**RELOAD_TICKET, "port": True}, SEEN, "no_ticket"),
    ({k: v for k, v in RELOAD_TICKET.items() if k != "network"}, SEEN, "no_ticket"),
    ({k: v for k, v in RELOAD_TICKET.items() if k not in ("instance", "network", "port")} | {"probe": "10.0.0.5:8000"},
     SEEN, "no_ticket"),  # an older bluegreen's ticket (the recorded address): the next switch records a new one
    (RELOAD_TICKET, {"master": False}, "nginx_unseen"),  # another PID namespace, or nginx restarted
    (RELOAD_TICKET, {**SEEN, "disk": None}, "file_edited"),  # unreadable without following a link
    (RELOAD_TICKET, {**SEEN, "workers": ["64", "90"]}, "nginx_reloaded"),
    (RELOAD_TICKET, {**SEEN, "workers": []}, "nginx_reloaded"),
])
def test_each_reload_reason(ticket, answer, reason):
    assert why_not(replace(RELOAD_STATE, quick=ticket), answer, "c1") == reason


def test_a_reload_ticket_for_an_nginx_not_seen_from_here_is_never_usable():
    """make_reload checks the host's view itself: this test process is not an nginx master. The ticket is kept
    (status names the reason: nginx_unseen), with no workers recorded, so no later answer can make it ready."""
    import os

    from bluegreen.parts.quick_ticket import make_reload

    ticket = make_reload(RELOAD_TEXT, color="green", config_digest="c1", master=os.getpid(), path="/etc/hostname",
                         workers=[], rollback="x", instance="up-blue", network="net", port=8000,
                         health_path="/health", probe_timeout=1, reload_timeout=1)
    state = replace(RELOAD_STATE, quick=ticket)
    assert why_not(state, {"master": False}, "c1") == "nginx_unseen"
    assert why_not(state, SEEN, "c1") == "nginx_reloaded"  # whatever it would see later
