"""The bench's pure analysis (bench/zdt): merging the two generators' records, the import profile, the switch lag,
the schedule check and the targets. No Docker, no load: the bench itself runs with `make bench`."""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from zdt import analyze, anatomy  # noqa: E402
from zdt.runner import merge_loads  # noqa: E402


def test_merge_loads_shifts_the_second_generators_class_indexes():
    a = {"classes": [{"name": "get"}, {"name": "post"}], "lag_max": [0.01, 0.02], "late": [0, 1],
         "records": [(0, 1.0, 0.01, 200, "blue", "v1"), (1, 1.1, 0.01, 200, "blue", "v1")]}
    b = {"classes": [{"name": "ka-busy"}], "lag_max": [0.0], "late": [0],
         "records": [(0, 1.2, 0.001, "closed", None, None)]}
    merged = merge_loads([a, b])
    assert [c["name"] for c in merged["classes"]] == ["get", "post", "ka-busy"]
    assert merged["lag_max"] == [0.01, 0.02, 0.0] and merged["late"] == [0, 1, 0]
    assert merged["records"][2] == (2, 1.2, 0.001, "closed", None, None)


IMPORTTIME = """\
import time: self [us] | cumulative | imported package
import time:       100 |        100 |   _io
import time:       200 |        300 | encodings
import time:      1000 |       1000 |     urllib3.util
import time:      2000 |       3000 |   requests
import time:      4000 |       7000 | docker
import time:       500 |        500 | docker.api
some other line on stderr
"""


def test_importtime_adds_self_times_by_top_level_package():
    by_package = anatomy.parse_importtime(IMPORTTIME)
    assert by_package == {"_io": 0.0001, "encodings": 0.0002, "urllib3": 0.001, "requests": 0.002, "docker": 0.0045}
    assert round(sum(by_package.values()), 4) == 0.0078  # every module once: no cumulative counted twice


def test_first_target_is_the_first_new_connection_start_the_target_answered_after_the_command():
    run = SimpleNamespace(load={"classes": [{"name": "get", "keepalive": "none"}, {"name": "slow", "keepalive": "none"},
                                            {"name": "ka-busy", "keepalive": "busy"}],
                                "records": [(0, 9.0, 0.01, 200, "green", "v2"), (0, 10.1, 0.01, 200, "blue", "v1"),
                                            (2, 10.2, 0.01, 200, "green", "v2"),  # keep-alive: not a new connection
                                            (1, 10.3, 3.0, 200, "green", "v2"),  # slow: started long before its answer
                                            (0, 10.4, 0.01, 502, "green", None),  # failed
                                            (0, 10.5, 0.01, 200, "green", "v2")]})
    answers = analyze.fresh_answers(run, 4)
    assert analyze.first_target(answers, 10.0, "green") == 0.5
    assert analyze.first_target(answers, 10.0, "red") is None


def test_behind_schedule_names_a_class_that_started_late():
    kept = {"classes": {"get": {"scheduler_lag_max_s": 0.01, "late_starts": 0, "requests": 1000}}}
    late = {"classes": {"get": {"scheduler_lag_max_s": 0.6, "late_starts": 3, "requests": 1000}}}
    assert analyze.behind_schedule(kept) == ""
    assert analyze.behind_schedule(late).startswith("get: max lag 0.60 s")


def _mode(switch: str, failures: int, requests: int, cycles: int, rollback_p95: float) -> dict:
    """rollback_p95: start → traffic on the target; the exit comes later and does not count."""
    classes = {"get": {"requests": requests, "failures": failures, "keepalive": "none"}}
    return {"setup": {"switch": switch, "swarm": False}, "classes": classes, "new_connection_requests": requests,
            "new_connection_failures": failures, "operations": {
                "deploy": {"count": cycles}, "rollback": {"count": cycles, "exit_s": {"p95": rollback_p95 + 0.5},
                                                          "first_target_s": {"p95": rollback_p95},
                                                          "never_answered_by_target": 0}},
            "rollback_without_load_s": {"p95": rollback_p95}}


def test_targets_hold_shared_dict_to_every_class_and_its_own_rollback_bound():
    modes = {"dict": _mode("shared-dict", 0, 120_000, 20, 0.29), "reload": _mode("reload", 0, 120_000, 20, 0.6)}
    found = {(t["mode"], t["target"].split(":")[0]): t["met"]
             for t in analyze.targets(modes, min_cycles=20, min_requests=100_000)}
    assert found == {("dict", "every class"): True, ("dict", "rollback p95 ≤ 0.3 s, start → traffic on the target"): True,
                     ("reload", "rollback p95 ≤ 0.5 s, start → traffic on the target"): False}
    modes["dict"] = _mode("shared-dict", 1, 120_000, 20, 0.29)
    assert not analyze.targets(modes, min_cycles=20, min_requests=100_000)[0]["met"]
    modes["dict"] = _mode("shared-dict", 0, 120_000, 20, 0.29)
    modes["dict"]["operations"]["rollback"]["never_answered_by_target"] = 1  # a rollback the target never served
    assert not analyze.targets(modes, min_cycles=20, min_requests=100_000)[1]["met"]


def test_the_budget_is_shared_by_weight_and_capped():
    from zdt.modes import Plan, Variant, share_of_budget

    plan = Plan([], budget=1000, setup_seconds=10, recreate_seconds=100, max_seconds=290, min_cycles=2,
                cycle_estimate=10)
    a, b = Variant("a", "a"), Variant("b", "b", weight=3.0)
    assert share_of_budget(plan, 0, [a, b], a) == 290  # 880 s spare, b needs 60: capped
    plan.max_seconds = 1000
    assert share_of_budget(plan, 0, [a, b], a) == 880 - 60  # what b's cycles do not need
    plan.min_cycles = 100
    assert share_of_budget(plan, 0, [a, b], a) == 880 / 4  # b needs more than is left: a gets its fair share
    assert share_of_budget(plan, 990, [a], a) == 30  # never less than a usable window
