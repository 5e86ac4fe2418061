"""The message catalogues: both languages have every key and the same placeholders."""

from __future__ import annotations

import string

from bluegreen.messages import detect_language, en, ko, plain, render


def fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_catalogues_have_the_same_keys_and_placeholders():
    """Every English message has a Korean one with the same {placeholders}, and vice versa."""
    assert set(en.MESSAGES) == set(ko.MESSAGES)
    for key, template in en.MESSAGES.items():
        assert fields(template) == fields(ko.MESSAGES[key]), key


def test_guide_wording():
    """The Korean lines are the guide's own."""
    assert render("switch.done", "ko", old="blue", new="green") == "✅ Nginx upstream 전환 완료: blue → green"
    assert render("active.current", "ko", color="blue") == "ℹ️  현재 활성 환경: blue"
    assert render("rollback.target_missing", "ko", name="maice-back-blue", image="x").startswith(
        "❌ 롤백 대상 환경(maice-back-blue)이 실행되지 않고 있습니다")


def test_language_choice():
    """BLUEGREEN_LANG wins, then the locale; unknown means English."""
    assert detect_language({"BLUEGREEN_LANG": "ko", "LANG": "en_US.UTF-8"}) == "ko"
    assert detect_language({"LANG": "ko_KR.UTF-8"}) == "ko"
    assert detect_language({"LC_ALL": "C.UTF-8", "LANG": "ko_KR.UTF-8"}) == "en"
    assert detect_language({}) == "en"


def test_plain_strips_the_status_symbol():
    """Reasons embedded in other messages lose their leading symbol."""
    assert plain("❌ Nginx reload failed: x") == "Nginx reload failed: x"
    assert plain("ℹ️  info") == "info"


def test_every_message_is_used_and_said_in_both_languages():
    """No catalogue key is dead: each is named in the code (literally, or through its family's prefix)."""
    import pathlib

    import bluegreen

    root = pathlib.Path(bluegreen.__file__).parent
    code = "\n".join(p.read_text(encoding="utf-8") for p in root.rglob("*.py") if "messages" not in p.parts)
    families = ("jenkins.kind.", "jenkins.plan.", "jenkins.done.",  # built as f"jenkins.{step}.{action}"
                "status.quick.")  # f"status.quick.{reason}": each reason's message is checked below
    unused = [k for k in en.MESSAGES if f'"{k}"' not in code and not k.startswith(families)]
    assert unused == []
    assert set(en.MESSAGES) == set(ko.MESSAGES)
    from bluegreen.parts.quick_ticket import REASONS

    quick = {k for k in en.MESSAGES if k.startswith("status.quick.")}
    assert quick == {f"status.quick.{r}" for r in (*REASONS, "ready")}
