"""jenkins/label.py: what Jenkins' label-expression grammar (LabelExpressionLexer/Parser.g4) accepts, and what not."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bluegreen.jenkins.label import is_label_expression

GOOD = ["docker-host", "docker && linux", "docker&&linux", "!windows", "(a || b) && c", "a -> b", "a <-> b <-> c",
        '"my agent"', '"quote \\" inside" && x', "built-in", "a-b-c", "x86_64 && !arm", " docker ", "a\t&&\tb",
        "label:with:colons", "über-node", "a || b && c -> d"]
BAD = ["", "  ", "docker &&", "&& docker", "docker & linux", "docker | linux", "(docker || linux", "docker)",
       "a -> b -> c", "!!a", "docker\nlinux", "'docker'", '"unterminated', "a > b", "a < b", "x" * 201, "a\x07",
       '"new\nline"', "()", "a b", "!"]


@pytest.mark.parametrize("text", GOOD)
def test_jenkins_parses_these(text: str):
    """Atoms, quoted atoms, every operator, parentheses and blanks between tokens are label expressions."""
    assert is_label_expression(text)


@pytest.mark.parametrize("text", BAD)
def test_jenkins_refuses_these(text: str):
    """Dangling or single operators, unbalanced parentheses, chained ->, doubled !, two atoms side by side,
    a second line, single quotes, control characters, and overlong text are not."""
    assert not is_label_expression(text)


@given(st.lists(st.from_regex(r"[A-Za-z0-9_.:-]{1,12}", fullmatch=True), min_size=1, max_size=5),
       st.lists(st.sampled_from(["&&", "||"]), min_size=4, max_size=4))
def test_atoms_joined_by_and_or_are_expressions(atoms: list[str], operators: list[str]):
    """Any atoms joined by && and ||, with or without a !, parse."""
    text = atoms[0]
    for operator, atom in zip(operators, atoms[1:]):
        text += f" {operator} !{atom}"
    assert is_label_expression(text)
