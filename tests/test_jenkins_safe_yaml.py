"""bluegreen.config.safe_yaml: the loader job sync uses for jenkins.yml (and the lead will reuse for bluegreen.yml)."""

from __future__ import annotations

import pytest

from bluegreen.config import safe_yaml
from bluegreen.errors import UsageError


def refused(data: str | bytes) -> UsageError:
    with pytest.raises(UsageError) as error:
        safe_yaml.load(data, source="f.yml")
    assert error.value.exit_code == 2 and "\n" not in str(error.value)
    return error.value


def test_plain_documents_load_as_safe_load_would():
    """Mappings, lists, scalars, a BOM and anchors without aliases load as usual."""
    assert safe_yaml.load("\ufeffa: 1\nb: [x, 'y']\nc: &anchor {d: true}\n", source="f") == {
        "a": 1, "b": ["x", "y"], "c": {"d": True}}
    assert safe_yaml.load(b"- 1\n- 2\n", source="f") == [1, 2]
    assert safe_yaml.load("", source="f") is None


@pytest.mark.parametrize("text, key", [
    ("a: &x [1]\nb: *x\n", "yaml.alias"),
    ("base: &b {x: 1}\nother:\n  <<: *b\n", "yaml.alias"),
    ("a: 1\na: 2\n", "yaml.duplicate_key"),
    ("a: {b: 1, b: 2}\n", "yaml.duplicate_key"),
    ("? [1, 2]\n: x\n", "yaml.syntax"),  # an unhashable key: SafeLoader's own refusal, as one line
    ("a: [1\n", "yaml.syntax"),
    ("!!python/name:os.system\n", "yaml.syntax"),
    ("[" * 100 + "]" * 100, "yaml.too_deep"),
    ("[" * 20000 + "]" * 20000, "yaml.too_deep"),
    ("a: [" + "1," * 25000 + "1]\n", "yaml.too_many_nodes"),
])
def test_what_it_refuses(text: str, key: str):
    """Aliases (and merge keys), duplicate keys, syntax errors, unsafe tags and deep nesting: one line each."""
    assert refused(text).key == key


def test_bytes_must_be_utf8_and_bounded():
    """Bytes that are not UTF-8 say where; more than MAX_BYTES is refused before parsing."""
    error = refused(b"a: 1\nb: \xc3\x28\n")
    assert error.key == "yaml.not_utf8" and error.params["offset"] == 8
    assert refused(b"#" * (safe_yaml.MAX_BYTES + 1)).key == "yaml.too_large"
    assert safe_yaml.load(b"#" * safe_yaml.MAX_BYTES, source="f") is None
    assert refused("#" * (safe_yaml.MAX_BYTES + 1)).key == "yaml.too_large"


def test_messages_quote_nothing_that_could_forge_a_line():
    """A key holding a newline or an escape sequence appears escaped in the one-line message."""
    error = refused('"x\\n\\u001b[31mFAKE": 1\n"x\\n\\u001b[31mFAKE": 2\n')
    assert "\n" not in str(error) and "\x1b" not in str(error) and "line 2" in str(error)


def test_load_path_names_missing_and_unreadable_files(tmp_path):
    """load_path: a missing file and a directory are UsageErrors naming the path."""
    with pytest.raises(UsageError) as missing:
        safe_yaml.load_path(tmp_path / "nope.yml")
    assert missing.value.key == "yaml.not_found"
    with pytest.raises(UsageError) as directory:
        safe_yaml.load_path(tmp_path)
    assert directory.value.key == "yaml.unreadable"
    (tmp_path / "ok.yml").write_text("a: 1\n", encoding="utf-8")
    assert safe_yaml.load_path(tmp_path / "ok.yml") == {"a": 1}


def test_independent_of_the_rest_of_the_package():
    """safe_yaml imports only yaml and what every reader of a file shares: the errors, the bounded reader (files.py)
    and the config file's bounds (config/file.py) — nothing of the engine, so jenkins sync and bluegreen.yml share it."""
    import ast
    import inspect

    tree = ast.parse(inspect.getsource(safe_yaml))
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    assert {m for m in imported if m and m.startswith("bluegreen")} <= {"bluegreen.errors", "bluegreen.files",
                                                                      "bluegreen.config.file"}
