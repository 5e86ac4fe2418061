"""The files `bluegreen init` changes inside nginx, each as its new text beside its current one:

- the file that holds the upstream block loses it (parts/site_edit.py), or gets `include <upstream_file>;` in its
  place when no `include` nginx has reads bluegreen's file;
- bluegreen's own file (`upstream_file`) holds the block as bluegreen renders it: the same color serving;
- `switch: shared-dict` also: every `proxy_pass http://<upstream>` → `http://$<upstream>`, the njs module's
  `load_module` line in nginx.conf when njs is not loaded, and bluegreen's njs module.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Callable

from bluegreen.errors import Inconsistent
from bluegreen.operations.init_plan import Layout
from bluegreen.parts import site_edit
from bluegreen.parts.dict_file import file_color
from bluegreen.parts.nginx_config import Dump
from bluegreen.parts.nginx_files import FileChange
from bluegreen.parts.site_survey import NJS, NginxReading
from bluegreen.parts.upstream import parse_upstream
from bluegreen.config.settings import Service

NOTE = "added by bluegreen init (switch: shared-dict)"


def plan_files(nginx: NginxReading, svc: Service, layout: Layout, *, rendered: str, switch: str,
               setup_files: dict[str, str], read_file: Callable[[str], str | None],
               recorded: str | None) -> list[FileChange]:
    """Every file to change (none when the block is in bluegreen's file already, that file is the one bluegreen's
    state remembers nginx loading (`recorded`), and nothing else is missing); Inconsistent (exit 3, nothing changed) when an edit would
    change what the site means."""
    dump, path = nginx.dump, svc.upstream_file
    owned = dump.file(path)
    current = owned.text if owned is not None else read_file(path)
    edits: dict[str, list[site_edit.Edit]] = defaultdict(list)
    block = layout.block
    if block.path != path:
        include = None if dump.including(path) else f"include {path};"
        edits[block.path].append(site_edit.cut(_text(dump, block.path), block.directive, include))
    else:
        _refuse_shared_owned_file(dump, path, block.directive)
    if switch == "shared-dict":
        _shared_dict_edits(nginx, svc.upstream, edits)
    changes = []
    # A file bluegreen rendered stays as it is once nginx's loading it is on record; without the record (an init
    # killed between writing and reloading: nginx -T reads the disk, not what nginx loaded) it is installed again.
    if block.path != path or parse_upstream(current, svc.upstream).generation is None or current != recorded:
        changes.append(FileChange(path, rendered, current))
    for extra, text in setup_files.items():
        now = read_file(extra)
        if now != text:
            changes.append(FileChange(extra, text, now))
    for site, found in edits.items():
        text = _text(dump, site)
        changes.append(FileChange(site, site_edit.apply(text, found), text))
    return changes


def set_up(dump: Dump, svc: Service, read_file: Callable[[str], str | None]) -> bool:
    """`switch: shared-dict` is set up already: bluegreen's file defines the color's variable (no `upstream
    <name>` block is left anywhere, and nothing proxies to one)."""
    owned = dump.file(svc.upstream_file)
    text = owned.text if owned is not None else read_file(svc.upstream_file)
    return file_color(text) is not None and not dump.upstreams(svc.upstream) and not _proxy_passes(dump, svc.upstream)


def _shared_dict_edits(nginx: NginxReading, upstream: str, edits: dict[str, list[site_edit.Edit]]) -> None:
    dump = nginx.dump
    for directive in _proxy_passes(dump, upstream):
        try:
            edits[directive.path].append(site_edit.proxy_to_variable(_text(dump, directive.path), directive, upstream))
        except site_edit.CannotEdit:
            raise Inconsistent("init.proxy_uri", where=directive.where, value=" ".join(directive.args)) from None
    if any(d.name == "load_module" and d.args and d.args[0].rpartition("/")[2] == NJS for d, _ in dump.walk()):
        return
    if not nginx.has_njs:
        raise Inconsistent("init.no_njs", nginx=nginx.facts.name, path=f"{nginx.modules_path}/{NJS}")
    main = dump.files[0]
    edits[main.path].append(site_edit.load_module(main.text, main.directives, f"{nginx.modules_path}/{NJS}", NOTE))


def _proxy_passes(dump: Dump, upstream: str) -> list:
    pattern = re.compile(rf"https?://{re.escape(upstream)}(?:[/?].*)?", re.S)
    return [d for d, _ in dump.walk() if d.name == "proxy_pass" and any(pattern.fullmatch(a) for a in d.args)]


def _refuse_shared_owned_file(dump: Dump, path: str, block) -> None:
    """bluegreen rewrites its file whole: anything else in it would be lost at the first deploy."""
    owned = dump.file(path)
    for directive in owned.directives if owned is not None else ():
        if directive.start != block.start:
            raise Inconsistent("init.owned_file_shared", path=path, where=directive.where, directive=directive.name)


def _text(dump: Dump, path: str) -> str:
    found = dump.file(path)
    assert found is not None, path  # every path here comes from the dump
    return found.text
