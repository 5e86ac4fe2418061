"""Editing a team's nginx files for `bluegreen init`: only the directive an edit is about changes; every other
directive, comment and blank line stays byte for byte."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bluegreen.parts import site_edit
from bluegreen.parts.nginx_config import parse, parse_dump

GUIDE_DEFAULT_CONF = """upstream maice_backend {
    # Blue 환경 (현재 활성)
    server maice-back-blue:8000 max_fails=3 fail_timeout=30s;

    # Green 환경 (대기 - 백업)
    server maice-back-green:8000 max_fails=3 fail_timeout=30s backup;
}

server {
    listen 80;
    location / {
        proxy_pass http://maice_backend;
    }
}
"""


def _block(text: str, name: str = "maice_backend"):
    return next(d for d in parse(text) if d.name == "upstream" and d.args == (name,))


def test_the_guides_block_goes_with_its_lines_and_nothing_else_changes():
    """The inline block of the guide's default.conf is cut out whole; the server block is untouched."""
    text = GUIDE_DEFAULT_CONF
    after = site_edit.apply(text, [site_edit.cut(text, _block(text))])
    assert after == text[text.index("\nserver {"):]


def test_an_include_takes_the_blocks_place_at_its_indentation():
    """Where no include reads bluegreen's file, the block's lines become one `include` line."""
    text = "http {\n    # the backend\n    upstream maice_backend {\n        server maice-back-blue:8000;\n    }\n" \
           "    server { listen 80; }\n}\n"
    [http] = parse(text)
    block = next(d for d in http.children if d.name == "upstream")
    after = site_edit.apply(text, [site_edit.cut(text, block, "include /etc/nginx/conf.d/x.conf;")])
    assert after == ("http {\n    # the backend\n    include /etc/nginx/conf.d/x.conf;\n"
                     "    server { listen 80; }\n}\n")


def test_a_block_sharing_its_line_goes_alone():
    """`upstream x { … } server { … }` on one line: only the block's characters are cut; a comment after it stays."""
    text = "upstream maice_backend { server maice-back-blue:8000; } server { listen 80; }  # same line\n"
    after = site_edit.apply(text, [site_edit.cut(text, _block(text))])
    assert after == " server { listen 80; }  # same line\n"


def test_proxy_pass_points_at_the_variable_quoted_or_not():
    """shared-dict: `http://maice_backend` → `http://$maice_backend`, quotes kept; nothing else in the line moves."""
    text = 'location / { proxy_pass http://maice_backend;  # users\n}\nlocation /b { proxy_pass "https://maice_backend"; }\n'
    directives = [d for d, _ in parse_dump(f"# configuration file /x:\n{text}\n").walk() if d.name == "proxy_pass"]
    edits = [site_edit.proxy_to_variable(text, d, "maice_backend") for d in directives]
    assert site_edit.apply(text, edits) == text.replace("http://maice_backend;", "http://$maice_backend;").replace(
        '"https://maice_backend"', '"https://$maice_backend"')


@pytest.mark.parametrize("target", ["http://maice_backend/api/", "http://maice_backend?x=1"])
def test_a_proxy_pass_with_a_uri_is_refused(target):
    """With a variable, nginx would pass that URI instead of the request's: init refuses to change its meaning."""
    text = f"location / {{ proxy_pass {target}; }}\n"
    [location] = parse(text)
    with pytest.raises(site_edit.CannotEdit):
        site_edit.proxy_to_variable(text, location.children[0], "maice_backend")


def test_load_module_goes_before_the_first_block_after_the_simple_directives():
    """nginx refuses a `load_module` after `events {}`: it lands after `pid …;`, before the blocks, on its own line."""
    text = "# main\nuser www-data;\npid /run/nginx.pid;\n\nevents {\n}\nhttp {\n}\n"
    edit = site_edit.load_module(text, parse(text), "/usr/lib/nginx/modules/ngx_http_js_module.so", "njs")
    assert site_edit.apply(text, [edit]) == ("# main\nuser www-data;\npid /run/nginx.pid;\n"
                                             "load_module /usr/lib/nginx/modules/ngx_http_js_module.so;  # njs\n"
                                             "\nevents {\n}\nhttp {\n}\n")
    text = "events {}\nhttp {}\n"
    edit = site_edit.load_module(text, parse(text), "m.so", "njs")
    assert site_edit.apply(text, [edit]).startswith("load_module m.so;  # njs\nevents {}")


def test_a_diff_names_a_new_file_as_dev_null():
    lines = site_edit.diff("/etc/nginx/conf.d/x.conf", None, "a\n")
    assert lines[:2] == ["--- /dev/null", "+++ b/etc/nginx/conf.d/x.conf"] and lines[-1] == "+a"


# --- generated site files: the block goes, everything else stays -------------------------------------------------
WORD = st.from_regex(r"[A-Za-z0-9_./:=$-]{1,10}", fullmatch=True).filter(lambda w: not w.startswith("#"))
COMMENT = st.from_regex(r"# [^\n]{0,20}", fullmatch=True)
INDENT = st.sampled_from(["", "    ", "\t", "  "])


@st.composite
def lines(draw, depth=0):
    """Lines of an nginx file: simple directives, comments, blank lines and (nested) blocks."""
    out = []
    for kind in draw(st.lists(st.sampled_from(["directive", "comment", "blank", "block"]), max_size=5)):
        indent = draw(INDENT)
        if kind == "directive":
            words = draw(st.lists(WORD, min_size=1, max_size=3))
            tail = draw(st.sampled_from(["", "  # note", " # {;}"]))
            out.append(f"{indent}{'listen' if words[0] == 'upstream' else words[0]} {' '.join(words[1:])};{tail}")
        elif kind == "comment":
            out.append(indent + draw(COMMENT))
        elif kind == "blank":
            out.append(indent)
        elif depth < 2:
            out.append(f"{indent}server {{")
            out.extend(draw(lines(depth + 1)))
            out.append(f"{indent}}}")
    return out


GUIDE_BLOCK = GUIDE_DEFAULT_CONF[:GUIDE_DEFAULT_CONF.index("\n}\n") + 3]


@settings(max_examples=200)
@given(lines(), lines(), INDENT, st.booleans())
def test_cutting_the_block_from_any_file_leaves_every_other_line_byte_identical(before, after, indent, newline):
    """Whatever surrounds the guide's block (directives, comments with `{;}`, blank lines, nested blocks, tabs), the
    cut file is the same text without exactly the block's lines, and parses to the same directives minus the block."""
    block = "".join(indent + line if line else line for line in GUIDE_BLOCK.splitlines(True))
    head = "".join(f"{line}\n" for line in before)
    tail = "\n".join(after) + ("\n" if newline and after else "")
    text = head + block + tail
    cut = site_edit.apply(text, [site_edit.cut(text, _block(text))])
    assert cut == head + tail
    assert [(d.name, d.args) for d in parse(cut)] == [(d.name, d.args) for d in parse(text)
                                                      if not (d.name == "upstream" and d.args == ("maice_backend",))]
