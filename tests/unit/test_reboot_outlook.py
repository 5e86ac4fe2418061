"""parts/reboot.py: will the site come back by itself after a reboot? From nginx's restart policy, what its files
name (each container's policy and whether it runs now) and whether nginx resolves those names while it runs."""

from __future__ import annotations

import pytest

from bluegreen.messages import render
from bluegreen.parts.containers import ContainerFacts
from bluegreen.parts.reboot import reboot_outlook


def facts(name: str, restart: str = "unless-stopped", running: bool = True) -> ContainerFacts:
    return ContainerFacts(name=name, id="0" * 12, image="img", running=running, restart=restart, networks=("n",),
                          published=(), mounts=(), env_names=(), labels={})


APPS = {"app-blue": facts("app-blue"), "app-green": facts("app-green")}


def keys(outlook) -> list[str]:
    return [key for key, _ in outlook.findings]


def test_always_on_nginx_and_policies_on_every_named_container_come_back_with_nothing_to_say():
    outlook = reboot_outlook(nginx=facts("nginx", "always"), named=APPS)
    assert outlook.comes_back and outlook.findings == ()


def test_unless_stopped_nginx_comes_back_with_a_caution_about_signals_through_docker():
    outlook = reboot_outlook(nginx=facts("nginx", "unless-stopped"), named=APPS)
    assert outlook.comes_back and keys(outlook) == ["reboot.nginx_unless_stopped"]


@pytest.mark.parametrize("policy", ["no", "on-failure"])
def test_nginx_without_a_policy_that_brings_it_back_does_not(policy):
    outlook = reboot_outlook(nginx=facts("nginx", policy), named=APPS)
    assert not outlook.comes_back
    assert outlook.findings == (("reboot.nginx_no_policy", {"nginx": "nginx", "policy": policy}),)


def test_no_nginx_container_at_all():
    assert keys(reboot_outlook(nginx=None, named=APPS)) == ["reboot.nginx_missing"]


@pytest.mark.parametrize("named, key", [
    (None, "reboot.named_missing"),
    (facts("app-blue", running=False), "reboot.named_stopped"),
    (facts("app-blue", restart="no"), "reboot.named_no_policy"),
    (facts("app-blue", restart="on-failure"), "reboot.named_no_policy"),
])
def test_a_named_container_that_will_not_run_stops_nginx_when_it_resolves_names_only_at_start(named, key):
    outlook = reboot_outlook(nginx=facts("nginx", "always"), named={**APPS, "app-blue": named})
    assert not outlook.comes_back and keys(outlook) == [key]
    assert outlook.findings[0][1]["name"] == "app-blue"


def test_with_resolve_a_missing_container_only_leaves_it_unserved():
    outlook = reboot_outlook(nginx=facts("nginx", "always"), named={**APPS, "app-blue": None}, resolves=True)
    assert outlook.comes_back and outlook.findings == (("reboot.named_unserved", {"name": "app-blue"}),)


def test_blockers_come_before_cautions_and_every_finding_renders_in_both_languages():
    outlook = reboot_outlook(nginx=facts("nginx", "unless-stopped"),
                             named={"a": None, "b": facts("b", running=False), "c": facts("c", "no")})
    assert keys(outlook) == ["reboot.named_missing", "reboot.named_stopped", "reboot.named_no_policy",
                             "reboot.nginx_unless_stopped"]
    for key, params in outlook.findings:
        for lang in ("en", "ko"):
            assert "{" not in render(key, lang, **params)
