"""parts/quick_ticket.py: when the rollback's quick path may act, and the one reason status gives when it may not."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bluegreen.parts.dict_file import digest
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
