"""Bad input to `bluegreen jenkins plan | sync | check` (issue 10 §2, §4): one clear line on stderr, exit 2, no
traceback, nothing sent to Jenkins — whatever the declaration file or the secret values hold. And secrets that
XML can carry, however odd (generated with hypothesis), sync exactly and leak nowhere."""

from __future__ import annotations

import contextlib
import errno
import io
import json
import os
import socket
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bluegreen.cli.app import main
from helpers import at_most
from jenkins_standin import Standin
from jenkins_standin_fixtures import (  # noqa: F401 - fixtures
    FOLDER, VALUES, declaration, edit_declaration, env, run, standin,
)

COMMANDS = ("plan", "sync", "check")
BOMB = ("version: 1\nid: x\nfolder: f\njobs: &a [x, x, x, x, x, x, x, x, x]\n"
        + "".join(f"k{i}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]\n" for i in range(8)))
GOOD = "version: 1\nid: maice\nfolder: team/maice\n"
REPO = "https://git.example.com/app.git"

BAD_FILES = {
    "alias bomb": BOMB.encode(),
    "duplicate key": b"version: 1\nid: maice\nfolder: team/maice\nid: other\n",
    "duplicate key in a job": (GOOD + f"jobs:\n  - {{name: d, type: deploy, repo: {REPO}, repo: {REPO}x}}\n").encode(),
    "not UTF-8": b"version: 1\nid: \xff\xfe maice\nfolder: f\n",
    "YAML syntax": b"version: 1\nid: [maice\n",
    "python tag": b"!!python/object/apply:os.system ['echo pwned']\n",
    "deep nesting": b"version: 1\nid: x\nfolder: " + b"[" * 5000 + b"]" * 5000 + b"\n",
    "too large": GOOD.encode() + b"# " + b"x" * (1024 * 1024) + b"\n",
    "too many values": GOOD.encode() + b"jobs: [" + b"1," * 25000 + b"1]\n",
    "a list at the top": b"- version: 1\n",
    "folder of the wrong type": b"version: 1\nid: maice\nfolder: 5\n",
    "jobs not a list": (GOOD + "jobs: deploy\n").encode(),
    "lightweight not a bool": (GOOD + f"jobs: [{{name: d, type: deploy, repo: {REPO}, lightweight: 'yes'}}]\n").encode(),
    "version true": b"version: true\nid: maice\nfolder: f\n",
    "folder climbing with /..": b"version: 1\nid: maice\nfolder: team/..\n",
    "folder with /../ inside": b"version: 1\nid: maice\nfolder: team/../other\n",
    "job named ..": (GOOD + f"jobs: [{{name: '..', type: deploy, repo: {REPO}}}]\n").encode(),
    "job name with a slash": (GOOD + f"jobs: [{{name: a/b, type: deploy, repo: {REPO}}}]\n").encode(),
    "job name ending in a dot": (GOOD + f"jobs: [{{name: deploy., type: deploy, repo: {REPO}}}]\n").encode(),
    "trailing newline in the folder": b'version: 1\nid: maice\nfolder: "team/maice\\n"\n',
    "trailing newline in a job name": (GOOD + f'jobs: [{{name: "deploy\\n", type: deploy, repo: {REPO}}}]\n').encode(),
    "trailing newline in the id": b'version: 1\nid: "maice\\n"\nfolder: f\n',
    "trailing newline in a credential id": (GOOD + 'credentials: [{id: "db\\n", type: secret, from_env: DB}]\n').encode(),
    "trailing newline in a variable name": (GOOD + 'credentials: [{id: db, type: secret, from_env: "DB\\n"}]\n').encode(),
    "newline in a repo": (GOOD + 'jobs: [{name: d, type: deploy, repo: "https://x/a.git\\nfoo"}]\n').encode(),
    "CR in a description": (GOOD + f'jobs: [{{name: d, type: deploy, repo: {REPO}, description: "a\\rb"}}]\n').encode(),
    "U+FFFE in a description": (GOOD + f'jobs: [{{name: d, type: deploy, repo: {REPO}, description: "a\\uFFFEb"}}]\n').encode(),
    "a lone surrogate in a description": (GOOD + f'jobs: [{{name: d, type: deploy, repo: {REPO}, description: "\\uD800"}}]\n').encode(),
    "NUL in a path": (GOOD + 'credentials: [{id: db, type: secret, from_file: "a\\0b"}]\n').encode(),
    "unknown key with a newline": b'version: 1\nid: maice\nfolder: f\n"bad\\nkey": 1\n',
    "no id": b"version: 1\nfolder: team/maice\n",
    "agent not a mapping": (GOOD + "agent: docker-host\n").encode(),
    "agent without a label": (GOOD + "agent: {}\n").encode(),
    "agent with an unknown key": (GOOD + "agent: {label: docker, runner: docker}\n").encode(),
    "label not text": (GOOD + "agent: {label: 5}\n").encode(),
    "label empty": (GOOD + "agent: {label: ''}\n").encode(),
    "label with a newline": (GOOD + 'agent: {label: "docker\\nlinux"}\n').encode(),
    "label with a dangling operator": (GOOD + "agent: {label: docker &&}\n").encode(),
    "label with a single ampersand": (GOOD + "agent: {label: docker & linux}\n").encode(),
    "label with an unclosed parenthesis": (GOOD + "agent: {label: '(docker || linux'}\n").encode(),
    "label with chained implications": (GOOD + "agent: {label: a -> b -> c}\n").encode(),
    "label with an unterminated quote": (GOOD + """agent: {label: '"docker host'}\n""").encode(),
    "label with a control character": (GOOD + 'agent: {label: "docker\\x07"}\n').encode(),
}


def assert_refused(result, standin: Standin) -> None:
    assert result.code == 2, result.text
    assert "Traceback" not in result.text
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("❌"), result.err
    assert standin.log == [] and result.out == ""


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_a_bad_declaration_file_is_one_line_exit_2_and_nothing_sent(case: str, run, standin: Standin,
                                                                    declaration: Path):
    """Each malformed declaration: exit 2, one line on stderr, no traceback, no request — for every command."""
    declaration.write_bytes(BAD_FILES[case])
    for command in COMMANDS:
        assert_refused(run(command), standin)


def test_the_alias_bomb_is_small():
    """The bomb is a few hundred bytes that would expand to 9^9 nodes."""
    assert len(BOMB) < 500


@pytest.mark.parametrize("where", ["a directory", "a missing file"])
def test_a_declaration_path_that_is_not_a_file_is_refused(where: str, run, standin: Standin, tmp_path: Path):
    """--declaration naming a directory or nothing: one line, exit 2."""
    path = tmp_path if where == "a directory" else tmp_path / "nope.yml"
    for command in COMMANDS:
        assert_refused(run(command, "--declaration", str(path)), standin)


@pytest.mark.parametrize("value, shown", [("line one\r\nline two", "U+000D"), ("ab\ufffecd", "U+FFFE"),
                                          ("ab\x85cd", "U+0085"), ("ab\u2028cd", "U+2028"), ("a\x07b", "U+0007"),
                                          ("bytes\udcffnot-utf8", "U+DCFF")])
def test_a_secret_xml_cannot_carry_is_refused_before_any_request(value: str, shown: str, run, standin: Standin,
                                                                 env: pytest.MonkeyPatch):
    """CR, U+FFFE, NEL, LS, controls, non-UTF-8 bytes: exit 2 naming the variable and the character, not the value."""
    env.setenv("OPENAI_API_KEY", value)
    for command in COMMANDS:
        result = run(command)
        assert_refused(result, standin)
        assert "OPENAI_API_KEY" in result.err and shown in result.err and value not in result.text


def test_a_secret_file_that_is_not_utf8_is_refused(run, standin: Standin, declaration: Path):
    """A from_file secret with bytes that are not UTF-8: exit 2 naming the file, nothing sent."""
    (declaration.parent / "key.bin").write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff")
    edit_declaration(declaration, lambda d: d["credentials"][0].update(from_file="key.bin", from_env=None))
    edit_declaration(declaration, lambda d: d["credentials"][0].pop("from_env"))
    result = run("sync")
    assert_refused(result, standin)
    assert "key.bin" in result.err


PEM = ("-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj\n"
       "MzEfYyjiWA4R4/M2bS1GB4t7NXp98C3SC6dVMvDuictGeurT8jNbvJZHtCSuYEvu\n-----END PRIVATE KEY-----\n")
SERVICE_ACCOUNT = json.dumps({"type": "service_account", "project_id": "maice", "private_key": PEM,
                              "client_email": "deploy@maice.iam.gserviceaccount.com"}, indent=2) + "\n"


@pytest.mark.parametrize("content", [PEM, SERVICE_ACCOUNT], ids=["pem", "service-account-json"])
def test_multiline_secret_files_sync_and_round_trip(content: str, run, standin: Standin, declaration: Path):
    """A PEM key and a JSON service-account file reach Jenkins exactly (less the editor's final newline) and
    then stay in sync."""
    (declaration.parent / "secret.txt").write_text(content, encoding="utf-8")
    def from_file(d: dict) -> None:
        d["credentials"][0].pop("from_env")
        d["credentials"][0]["from_file"] = "secret.txt"
    edit_declaration(declaration, from_file)
    result = run("sync")
    assert result.code == 0, result.text
    assert standin.secret(FOLDER, "maice-database-url") == content[:-1]
    assert run("check").code == 0
    assert "PRIVATE KEY" not in result.text + run("plan").text


# --- generated secrets ---
_XML_SAFE = st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Cn", "Zl"))
_CORE = st.text(st.one_of(_XML_SAFE, st.sampled_from("\n\t<>&\"'{}%$\\]]>")), min_size=4, max_size=60)


@settings(max_examples=20, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(secret=_CORE.map(lambda core: f"Zq7{core}!"), password=_CORE.map(lambda core: f"Pw9{core}?"))
def test_generated_secrets_round_trip_and_never_leak(secret: str, password: str, declaration: Path,
                                                     monkeypatch: pytest.MonkeyPatch):
    """Any XML-safe secret and password: plan, sync, check and a changed-value plan print none of it, no job XML
    and no request but the credential's own body carries it, and Jenkins ends up holding it exactly."""
    server = Standin().start()
    try:
        _environment(monkeypatch, server, OPENAI_API_KEY=secret, ADMIN_PASSWORD=password)
        outputs = [_run(declaration, command) for command in ("plan", "sync", "check")]
        assert [code for code, _ in outputs] == [0, 0, 0], outputs
        monkeypatch.setenv("OPENAI_API_KEY", secret + "x")
        outputs.append(_run(declaration, "plan"))
        assert server.secret(FOLDER, "maice-openai-api-key") == secret
        assert server.secret(FOLDER, "maice-admin", "password") == password
        seen = [text for _, text in outputs] + [str(server.log)]
        seen += [item.xml for item in server.find(FOLDER).children.values()]
        seen += [body.decode("utf-8") for _, path, body in server.bodies if "credential" not in path.lower()]
        for value in (secret, password):
            for form in _forms(value):
                assert not [text for text in seen if form in text], form
    finally:
        server.stop()


def _forms(value: str) -> set[str]:
    """The value as it could be printed: raw, XML-escaped, JSON-escaped, and each long line of it."""
    forms = {value, escape(value), json.dumps(value)[1:-1]}
    return forms | {line for line in value.splitlines() if len(line) >= 8}


def _environment(monkeypatch: pytest.MonkeyPatch, server: Standin, **values: str) -> None:
    for name in ("BLUEGREEN_LANG", "BLUEGREEN_CONFIG", "PYTHONHTTPSVERIFY"):
        monkeypatch.delenv(name, raising=False)
    for name, value in {**VALUES, **values, "JENKINS_URL": server.url, "JENKINS_USER": "admin",
                        "JENKINS_API_TOKEN": "admin-token", "LANG": "C.UTF-8"}.items():
        monkeypatch.setenv(name, value)


def _run(declaration: Path, command: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), pytest.raises(SystemExit) as exit_info:
        main(["jenkins", command, "--declaration", str(declaration)])
    return exit_info.value.code, out.getvalue() + err.getvalue()


@pytest.mark.parametrize("name, value", [("JENKINS_URL", "http://127.0.0.1:1/\n"), ("JENKINS_URL", "http://[::1"),
                                         ("JENKINS_URL", "http://127.0.0.1:99999/"), ("JENKINS_URL", "file:///etc"),
                                         ("JENKINS_USER", "admin\nX-Evil: 1"), ("JENKINS_API_TOKEN", "tok\ten")])
def test_a_bad_connection_value_is_one_line_exit_2(name: str, value: str, run, standin: Standin,
                                                   env: pytest.MonkeyPatch):
    """A malformed URL, or a user or token with a newline or space: exit 2, one line naming the variable."""
    env.setenv(name, value)
    result = run("check")
    assert_refused(result, standin)
    assert name in result.err or "JENKINS_URL" in result.err


# --- every file sync reads: bounded, typed, never blocking (issue 21 §6) ---
def _bad_path(kind: str, tmp_path: Path) -> tuple[str, str]:
    """A path that is not a readable regular file, and what the one line must say about it."""
    if kind == "fifo":
        os.mkfifo(tmp_path / "fifo")
        return str(tmp_path / "fifo"), "FIFO"
    if kind == "dev-zero":
        return "/dev/zero", "character device"
    if kind == "through-a-file":  # ENOTDIR
        (tmp_path / "plain.txt").write_text("x")
        return str(tmp_path / "plain.txt" / "x"), os.strerror(errno.ENOTDIR)
    if kind == "symlink-loop":  # ELOOP
        os.symlink(tmp_path / "loop-b", tmp_path / "loop-a")
        os.symlink(tmp_path / "loop-a", tmp_path / "loop-b")
        return str(tmp_path / "loop-a"), os.strerror(errno.ELOOP)
    if kind == "read-fails":  # opens as a regular file, every read fails (EIO): an unreadable file even for root
        return "/proc/self/mem", os.strerror(errno.EIO)
    if kind == "directory":
        return str(tmp_path), "directory"
    path = tmp_path / "huge.txt"  # "too-large": larger than any declaration, script or value can be
    with path.open("wb") as f:
        f.truncate(8 * 1024 * 1024)
    path.chmod(0o600)  # private enough for a credentials file: its size is what is refused
    return str(path), "larger than"


def _point(role: str, path: str, declaration: Path) -> tuple[str, ...]:
    """Make the declaration (or the command line) name `path` for `role`; the extra arguments it needs."""
    if role == "declaration":
        return ("--declaration", path)
    if role == "credentials-file":
        return ("--credentials-file", path)
    if role == "bluegreen-config":
        edit_declaration(declaration, lambda d: d.update(bluegreen_config=path))
    elif role == "rollback-script":
        edit_declaration(declaration, lambda d: d["jobs"][1].update(script=path))
    else:  # from-file
        def from_file(d: dict) -> None:
            d["credentials"][0].pop("from_env")
            d["credentials"][0]["from_file"] = path
        edit_declaration(declaration, from_file)
    return ()


ROLES = ("declaration", "bluegreen-config", "rollback-script", "from-file", "credentials-file")
KINDS = ("fifo", "dev-zero", "through-a-file", "symlink-loop", "read-fails", "directory", "too-large")


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("role", ROLES)
def test_every_file_sync_reads_is_bounded_one_line_exit_2_nothing_sent(role: str, kind: str, run, standin: Standin,
                                                                       declaration: Path, tmp_path: Path):
    """The declaration, bluegreen.yml, the Rollback script, a from_file secret and the credentials file: a FIFO, a
    device, a path through a file, a symlink loop, a file whose read fails, a directory or 8 MiB is refused at once
    (never read whole, never waited on): exit 2, one line naming the file and why, nothing sent."""
    path, why = _bad_path(kind, tmp_path)
    extra = _point(role, path, declaration)
    with at_most(10):
        result = run("plan", *extra)
    assert_refused(result, standin)
    assert why in result.err and (path in result.err or role == "declaration"), result.err
    assert "internal error" not in result.err and "not found" not in result.err.lower(), result.err


def test_a_secret_file_behind_a_symlink_is_read(run, standin: Standin, declaration: Path):
    """Symbolic links are followed (a Kubernetes secret mount is one): the value behind it syncs."""
    (declaration.parent / "real-secret.txt").write_text("linked-secret-value-123\n", encoding="utf-8")
    os.symlink(declaration.parent / "real-secret.txt", declaration.parent / "linked.txt")
    _point("from-file", "linked.txt", declaration)
    assert run("sync").code == 0
    assert standin.secret(FOLDER, "maice-database-url") == "linked-secret-value-123"


# --- plain http (issue 21 §7) ---
def _local_address() -> str | None:
    """This machine's own non-loopback IPv4 address (a UDP connect sends nothing), or None."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))
        except OSError:
            return None
        address = s.getsockname()[0]
    return None if address.startswith("127.") else address


def test_plain_http_to_another_machine_is_refused_unless_insecure_http(run, env: pytest.MonkeyPatch):
    """http:// to an address that is not the loopback: exit 2, one line, no request (the token would travel in
    clear); with --insecure-http the sync goes ahead, with a warning."""
    address = _local_address()
    if address is None:
        pytest.skip("no non-loopback address on this machine")
    server = Standin(host=address).start()
    try:
        env.setenv("JENKINS_URL", server.url)
        for command in COMMANDS:
            result = run(command)
            assert_refused(result, server)
            assert "plain http" in result.err and "--insecure-http" in result.err
        result = run("sync", "--insecure-http")
        assert result.code == 0 and "plain http" in result.text, result.text
        assert server.log
    finally:
        server.stop()


def test_plain_http_to_the_loopback_goes_through_a_proxy_only_with_insecure_http(run, standin: Standin,
                                                                                env: pytest.MonkeyPatch):
    """The loopback needs no flag, unless an HTTP proxy from the environment would carry the token off this
    machine: then it is refused like any remote http."""
    assert run("check").code in (0, 3)
    env.setenv("HTTP_PROXY", "http://proxy.example:3128")
    env.delenv("NO_PROXY", raising=False)
    env.delenv("no_proxy", raising=False)
    standin.log.clear()
    result = run("check")
    assert_refused(result, standin)
    env.setenv("NO_PROXY", "127.0.0.1")
    assert run("check").code in (0, 3)


@pytest.mark.parametrize("url, remote", [("http://127.0.0.1:8080/", False), ("http://127.1.2.3/", False),
                                         ("http://localhost:8080/", False), ("http://[::1]:8080/", False),
                                         ("http://[::ffff:127.0.0.1]/", False), ("https://jenkins.example/", False),
                                         ("http://jenkins.example/", True), ("http://10.0.0.5:8080/", True),
                                         ("http://localhost.example.com/", True), ("http://127.0.0.1.nip.io/", True)])
def test_which_urls_count_as_leaving_the_machine(url: str, remote: bool, monkeypatch: pytest.MonkeyPatch):
    """Loopback addresses and `localhost` stay on the machine; every other http host does not."""
    from bluegreen.jenkins.connection import Connection

    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    assert Connection(url, "admin", "token").plain_http_remote is remote
