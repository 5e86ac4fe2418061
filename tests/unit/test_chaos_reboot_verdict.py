"""The chaos bench's verdict on the engine-restart rows (11a, 11c; bench/chaos/report.py): a reboot is green when
nginx serves within 5 s of the engine answering, on the color status reported at that moment, nothing fails after,
and the next command works. No Docker: the bench itself runs with `make chaos`."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from chaos import report  # noqa: E402


def row(**extra) -> dict:
    return {"row": "11a", "next_command": "deploy", "next": {"exit_code": 0}, "status_after_next": {"exit_code": 0},
            "history": {"lost": []}, "state": {"state_json": "ok", "history_bad_lines": 0},
            "load_total": {"get": {"failed": 168}}, "load_after_serving": {"get": {"failed": 0}},
            "status_after_fault": {"exit_code": 0, "active": "blue"},
            "extra": {"live_restore": False, "nginx_serving_after_s": 0.3, "served_color": "green",
                      "status_active_when_serving": "green", **extra}}


def test_a_deploy_in_flight_switching_after_the_restart_is_judged_on_the_color_of_that_moment():
    """11a: nginx came back on green (the active color then); the resumed deploy then switched to blue. Green."""
    assert report.verdict(row()) == ("green", [])


def test_serving_another_color_than_status_reported_then_is_red():
    colour, why = report.verdict(row(status_active_when_serving="blue"))
    assert colour == "red" and why == ["served green, status says blue"]


def test_nginx_not_serving_within_five_seconds_is_red():
    colour, why = report.verdict(row(nginx_serving_after_s=None, status_active_when_serving=None))
    assert colour == "red" and why[0] == "nginx not serving 5 s after the engine answered"
    assert report.verdict(row(nginx_serving_after_s=7.2))[1][0].endswith("(7.2 s)")


def test_requests_failing_once_nginx_serves_again_are_red():
    doc = row()
    doc["load_after_serving"] = {"get": {"failed": 3}, "post": {"failed": 1}}
    assert report.verdict(doc) == ("red", ["4 failed requests after nginx served again"])
