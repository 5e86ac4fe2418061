"""Reading what nginx reads (`nginx -T`): files, directives with their lines, upstream blocks, mentions of hosts."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bluegreen.parts.nginx_config import Directive, DumpUnreadable, parse, parse_dump, version_of

# The guide's own layout: the upstream inline in default.conf (its monitoring page's sample, blue active).
GUIDE_DEFAULT_CONF = """upstream maice_backend {
    # Blue 환경 (현재 활성)
    server maice-back-blue:8000 max_fails=3 fail_timeout=30s;

    # Green 환경 (대기 - 백업)
    server maice-back-green:8000 max_fails=3 fail_timeout=30s backup;
}

server {
    listen 80;
    server_name _;
    location / {
        proxy_pass http://maice_backend;
        proxy_set_header Host $host;
    }
    location /ws {
        proxy_pass http://maice-back-green:8000;   # someone's shortcut
    }
}
"""


def dump_of(*files: tuple[str, str]) -> str:
    """What `nginx -T` prints for these files (nginx.c: header, the file's bytes, one newline)."""
    return "".join(f"# configuration file {path}:\n{text}\n" for path, text in files)


def test_the_guides_inline_block_is_found_with_its_file_line_and_roles():
    """The upstream inline in default.conf: found by name, primary and backup told apart, lines exact."""
    dump = parse_dump(dump_of(("/etc/nginx/nginx.conf", "http { include /etc/nginx/conf.d/*.conf; }\n"),
                              ("/etc/nginx/conf.d/default.conf", GUIDE_DEFAULT_CONF)))
    [block] = dump.upstreams("maice_backend")
    assert (block.path, block.line, block.end_line) == ("/etc/nginx/conf.d/default.conf", 1, 7)
    assert block.primaries == ("maice-back-blue",) and block.backups == ("maice-back-green",)
    assert [s.line for s in block.servers] == [3, 6]
    assert block.servers[0].params == ("max_fails=3", "fail_timeout=30s")
    assert dump.upstreams("other") == []


def test_mentions_find_whole_host_names_outside_upstreams_too():
    """A proxy_pass straight to a color's container is a mention; a longer name that starts alike is not."""
    text = GUIDE_DEFAULT_CONF + "server { location /x { proxy_pass http://maice-back-green-1:8000; } }\n"
    dump = parse_dump(dump_of(("/etc/nginx/conf.d/default.conf", text)))
    found = [(m.host, m.directive, m.line, m.upstream) for m in dump.mentions(["maice-back-blue", "maice-back-green"])]
    assert found == [("maice-back-blue", "server", 3, "maice_backend"),
                     ("maice-back-green", "server", 6, "maice_backend"),
                     ("maice-back-green", "proxy_pass", 17, None)]


def test_quotes_variables_and_comments_are_read_as_nginx_reads_them():
    """`${uri}` is a variable, not a block; quoted `;` and `{` stay in their word; `#` inside a word is a word."""
    [server] = parse('server { set $x "a;b{c}"; rewrite ^/(.*)${uri} /x#y; # comment }\n listen 80; }')
    assert [(d.name, d.args) for d in server.children] == [
        ("set", ("$x", "a;b{c}")), ("rewrite", ("^/(.*)${uri}", "/x#y")), ("listen", ("80",))]


@pytest.mark.parametrize("text", ["server {", "}", "server { listen 80; } }", "{ listen 80; }"])
def test_unbalanced_braces_are_refused(text):
    """A text nginx would not accept is DumpUnreadable, never a wrong reading."""
    with pytest.raises(DumpUnreadable):
        parse(text)


def test_a_dump_without_a_header_is_refused():
    with pytest.raises(DumpUnreadable):
        parse_dump("nginx: [emerg] unexpected end of file\n")


# --- generated configurations: what is written is what is read back ----------------------------------------
NAMES = st.sampled_from(["server", "listen", "proxy_pass", "upstream", "location", "set", "include", "map"])
PLAIN = st.from_regex(r"[A-Za-z0-9_./:=$-]{1,12}", fullmatch=True).filter(lambda w: not w.startswith("#"))
QUOTED = st.text(st.characters(blacklist_categories=["Cs", "Cc"], blacklist_characters='"\\'), max_size=10)
ARG = st.one_of(PLAIN.map(lambda w: (w, w)), QUOTED.map(lambda w: (f'"{w}"', w)))


@st.composite
def blocks(draw, depth=0):
    """(text, expected directives as (name, args, line, children)) for a generated list of directives."""
    items = draw(st.lists(st.tuples(NAMES, st.lists(ARG, max_size=3), st.booleans(), st.booleans()), max_size=4))
    return [(name, args, block and depth < 2, comment, draw(blocks(depth + 1)) if block and depth < 2 else None)
            for name, args, block, comment in items]


def _render(items, lines, indent=0):
    out, expected = [], []
    for name, args, is_block, comment, children in items:
        line = lines[0]
        head = " " * indent + " ".join([name, *(raw for raw, _ in args)])
        if is_block:
            out.append(head + " {" + ("  # note" if comment else ""))
            lines[0] += 1
            text, inner = _render(children, lines, indent + 4)
            out.extend(text)
            out.append(" " * indent + "}")
            expected.append((name, tuple(v for _, v in args), line, tuple(inner), lines[0]))
            lines[0] += 1
        else:
            out.append(head + ";" + ("  # note; {" if comment else ""))
            expected.append((name, tuple(v for _, v in args), line, None, line))
            lines[0] += 1
    return out, expected


def _shape(directives: tuple[Directive, ...]):
    return [(d.name, d.args, d.line, tuple(_shape(d.children)) if d.children is not None else None, d.end_line)
            for d in directives]


def _expected(items):
    return [(n, a, line, tuple(_expected(c)) if c is not None else None, end) for n, a, line, c, end in items]


@settings(max_examples=150)
@given(blocks(), st.booleans())
def test_generated_files_read_back_exactly_with_their_lines(items, final_newline):
    """Any file of directives, blocks, quoted words and comments parses to what was written, lines included, and
    survives the trip through `nginx -T`'s framing with or without a final newline."""
    text_lines, expected = _render(items, [1])
    text = "\n".join(text_lines) + ("\n" if final_newline else "")
    dump = parse_dump(dump_of(("/etc/nginx/nginx.conf", "events {}\n"), ("/etc/nginx/conf.d/x.conf", text)))
    f = dump.file("/etc/nginx/conf.d/x.conf")
    assert f is not None and f.text == text
    assert _shape(f.directives) == _expected(expected)


# --- what doctor asks of the dump ---------------------------------------------------------------------------------
MAIN = """load_module modules/ngx_http_js_module.so;
http {
    log_format bluegreen escape=json 'status=$status '
                                     'rt=$request_time';
    proxy_set_header X-From http;
    include conf.d/*.conf;
}
"""


def test_names_resolved_at_load_are_servers_without_resolve_and_literal_pass_hosts_not_upstreams():
    """`server` without `resolve`, a proxy_pass to a container: resolved when nginx loads; an upstream's name, a
    variable, a unix socket and a `resolve` server are not."""
    site = ("upstream up { zone up 64k; server a:80; server b:80 resolve; server unix:/tmp/s; }\n"
            "server { location / { proxy_pass http://up; }\n location /x { proxy_pass http://c:8000/x; }\n"
            " location /y { proxy_pass http://$d; }\n location /z { fastcgi_pass e:9000; } }\n")
    dump = parse_dump(dump_of(("/etc/nginx/conf.d/default.conf", site)))
    assert [(m.host, m.directive, m.line) for m in dump.resolved_at_load()] == [
        ("a", "server", 1), ("c", "proxy_pass", 3), ("e", "fastcgi_pass", 5)]


def test_directives_in_force_follow_nginxs_inheritance_includes_and_the_main_http_block():
    """A location without proxy_set_header takes its server's, then the file's top, then http's; one of its own
    replaces them all; an include at a level counts as that level's."""
    site = ("server {\n proxy_set_header A 1;\n location /own { proxy_set_header B 2; proxy_pass http://x; }\n"
            " location /inherit { proxy_pass http://x; }\n"
            " location /snip { include snippets/h.conf; proxy_pass http://x; }\n}\n"
            "server { location / { proxy_pass http://x; } }\n")
    dump = parse_dump(dump_of(("/etc/nginx/nginx.conf", MAIN), ("/etc/nginx/conf.d/default.conf", site),
                              ("/etc/nginx/snippets/h.conf", "proxy_set_header C 3;\n")))
    found = {}
    for d, parents in dump.walk():
        if d.name == "proxy_pass":
            location = parents[-1].args[0]
            found[location] = [h.args[0] for h in dump.in_force("proxy_set_header", d.path, parents)]
    assert found == {"/own": ["B"], "/inherit": ["A"], "/snip": ["C"], "/": ["X-From"]}


def test_included_matches_an_include_glob_relative_to_the_main_file():
    dump = parse_dump(dump_of(("/etc/nginx/nginx.conf", MAIN)))
    assert dump.included("/etc/nginx/conf.d/app.upstream.conf")
    assert not dump.included("/etc/nginx/conf.d/sub/app.conf") and not dump.included("/etc/nginx/other/app.conf")


def test_log_formats_join_their_pieces_as_nginx_does():
    dump = parse_dump(dump_of(("/etc/nginx/nginx.conf", MAIN)))
    text, directive = dump.log_formats()["bluegreen"]
    assert text == "status=$status rt=$request_time" and directive.line == 3


def test_the_version_nginx_v_prints():
    assert version_of("nginx version: nginx/1.22.1\nbuilt with OpenSSL") == (1, 22, 1)
    assert version_of("nginx version: openresty/1.25.3 (Ubuntu)") == (1, 25, 3)
    assert version_of("sh: nginx: not found") == ()
