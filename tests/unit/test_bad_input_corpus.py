"""Every bad input is one clear line with a documented exit code, no traceback, and changes nothing: the checked-in
corpus (tests/bad_inputs/) and the cases only code can make (FIFOs, symlinks, modes, sizes), in-process through
`bluegreen.cli.app.main`. The real-stack side is tests/test_bad_inputs.py."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import stat
from pathlib import Path

import pytest

from bluegreen.cli.app import main
from bluegreen.cli.options import REASON_LIMIT, reason_option as _reason_option
from bluegreen.errors import LockHeld, StateCorrupt, UsageError
from bluegreen.messages import render
from bluegreen.parts import state as state_mod
from bluegreen.parts.state import StateDir

CORPUS = Path(__file__).resolve().parents[1] / "bad_inputs"
EXPECTED = json.loads((CORPUS / "expected.json").read_text())
ARGS = json.loads((CORPUS / "args.json").read_text())
DOCUMENTED = {2, 3}  # bad input, config or option · state directory or file (README: "Commands and exit codes", "Security")
VALID = """version: 1
network: bg-net
state_dir: state
nginx: {container: nginx, public_url: "http://127.0.0.1"}
services:
  backend: {image: "app:1"}
"""


def cases(kind: str) -> list[str]:
    return sorted(name for name in EXPECTED if name.startswith(kind + "/"))


@pytest.fixture
def site(project):
    """A valid config in a fresh directory (the current one), its state directory, a clean environment."""
    (project / "bluegreen.yml").write_text(VALID)
    return project


def cli(argv: list[str], capsys) -> tuple[int, str, str]:
    """Run the CLI in-process; (exit code, stdout, stderr). Never longer than 10 s (a FIFO must not hang it)."""
    signal.alarm(10)
    try:
        main(argv)
        code = 0
    except SystemExit as done:
        code = done.code if isinstance(done.code, int) else 1
    finally:
        signal.alarm(0)
    out, err = capsys.readouterr()
    return code, out, err


def tree(root: Path) -> dict[str, str]:
    """What a directory holds (names, kinds, contents), to show that nothing changed."""
    found = {}
    for path in sorted(root.rglob("*")):
        st = path.lstat()
        found[str(path.relative_to(root))] = (hashlib.sha256(path.read_bytes()).hexdigest()
                                              if stat.S_ISREG(st.st_mode) else oct(st.st_mode))
    return found


def refused(result: tuple[int, str, str], code: int, says: str) -> None:
    """The documented code, exactly one line on stderr, saying `says`, no traceback."""
    exit_code, _, err = result
    assert exit_code == code, err
    assert code in DOCUMENTED | {0}
    if code:
        assert len(err.splitlines()) == 1, err
        assert says in err, err
    assert "Traceback" not in err and "internal error" not in err, err


# --- the checked-in corpus -----------------------------------------------------------------------------------
def test_the_corpus_and_its_expectations_agree():
    """Every corpus file has an expectation and every expectation a file; there are at least 150 of them."""
    files = {str(p.relative_to(CORPUS)) for p in CORPUS.rglob("*") if p.is_file()} - {"expected.json", "args.json",
                                                                                         "README.md"}
    assert files == set(EXPECTED)
    assert len(EXPECTED) + len(ARGS) >= 150


@pytest.mark.parametrize("name", cases("config"))
def test_bad_config_is_one_line_exit_2(name, site, capsys):
    """A bad bluegreen.yml: exit 2 naming the key (or the file), for `config check` and for a command that would
    go on to Docker; the state directory is not even created."""
    expect = EXPECTED[name]
    (site / "bluegreen.yml").write_bytes((CORPUS / name).read_bytes())
    (site / "state").rmdir()
    refused(cli(["config", "check"], capsys), expect["exit"], expect["says"])
    refused(cli(["credentials", "backend"], capsys), expect["exit"], expect["says"])
    assert not (site / "state").exists()


@pytest.mark.parametrize("name", sorted(ARGS))
def test_bad_command_line_is_one_line_exit_2(name, site, capsys):
    """A bad command line: exit 2 naming the option or value, before anything is looked at."""
    case = ARGS[name]
    argv = case["argv"] if "--config" in case["argv"] else ["--config", "bluegreen.yml", *case["argv"]]
    before = tree(site)
    refused(cli(argv, capsys), case["exit"], case["says"])
    assert tree(site) == before


@pytest.mark.parametrize("name", cases("state"))
def test_corrupt_state_file_is_exit_3_never_read_as_empty(name, site, capsys):
    """A state.json bluegreen did not write: exit 3 naming the file and the repair, for any command that opens
    the state directory."""
    expect = EXPECTED[name]
    (site / "state" / "backend.state.json").write_bytes((CORPUS / name).read_bytes())
    before = tree(site)
    result = cli(["history", "backend"], capsys)
    refused(result, expect["exit"], expect["says"])
    assert "mv " in result[2]  # the repair
    assert tree(site) == before


@pytest.mark.parametrize("name", cases("history"))
def test_history_corruption_is_exit_3_a_torn_last_line_is_normal(name, site, capsys):
    """A corrupt history line is exit 3 naming its line; a torn last line (SIGKILL mid-write) is skipped; text
    from the file is shown escaped."""
    expect = EXPECTED[name]
    (site / "state" / "backend.history.jsonl").write_bytes((CORPUS / name).read_bytes())
    before = tree(site)
    result = cli(["history", "backend"], capsys)
    refused(result, expect["exit"], expect["says"])
    assert "\x1b" not in result[1] and "\nforged line" not in result[1]
    if expect["exit"] == 0:
        refused(cli(["history", "backend", "--json"], capsys), 0, "")
    assert tree(site) == before


@pytest.mark.parametrize("name", cases("lock"))
def test_lock_holding_junk_is_exit_3_when_free_and_lock_held_when_taken(name, site):
    """A lock file with what bluegreen never writes: StateCorrupt (exit 3) when no run holds it, left as it is;
    while a run holds it, the flock is the truth: LockHeld (exit 4) with the unknown holder as '?'."""
    lock = site / "state" / "backend.lock"
    lock.write_bytes((CORPUS / name).read_bytes())
    before = tree(site)
    with pytest.raises(StateCorrupt) as err:
        StateDir(site / "state", "backend").acquire("deploy backend")
    assert err.value.exit_code == 3 and str(lock) in str(err.value) and len(str(err.value).splitlines()) == 1
    with pytest.raises(StateCorrupt):
        StateDir(site / "state", "backend").stale_holder()
    assert tree(site) == before
    fd = os.open(lock, os.O_RDWR)
    try:
        import fcntl

        fcntl.flock(fd, fcntl.LOCK_EX)
        with pytest.raises(LockHeld) as held:
            StateDir(site / "state", "backend").acquire("deploy backend")
        assert held.value.params["pid"] == "?" and held.value.exit_code == 4
    finally:
        os.close(fd)


# --- what only code can make ----------------------------------------------------------------------------------
def test_config_that_is_a_fifo_a_directory_or_a_device_is_refused_without_reading(site, capsys):
    """A FIFO (would block forever), a directory, /dev/zero (endless): one line, exit 2, at once."""
    os.mkfifo(site / "fifo.yml")
    for path, kind in ((site / "fifo.yml", "FIFO"), (site, "directory"), (Path("/dev/zero"), "character device")):
        refused(cli(["--config", str(path), "deploy", "backend"], capsys), 2, kind)


def test_huge_config_is_refused_by_size(site, capsys):
    """A 10 MB config is refused after reading at most 256 KiB + 1 byte."""
    (site / "big.yml").write_bytes(VALID.encode() + b"#" * (10 << 20))
    refused(cli(["--config", "big.yml", "config", "check"], capsys), 2, "larger than")


def test_dangling_config_symlink_is_not_found(site, capsys):
    (site / "link.yml").symlink_to(site / "nowhere.yml")
    refused(cli(["--config", "link.yml", "config", "check"], capsys), 2, "not found")


@pytest.mark.parametrize("setup, says", [
    (lambda d: (d.rmdir(), d.symlink_to(d.parent / "elsewhere"), (d.parent / "elsewhere").mkdir()), "symbolic link"),
    (lambda d: d.chmod(0o775), "writable by group or others"),
    (lambda d: d.chmod(0o777), "writable by group or others"),
    (lambda d: d.chmod(0o1777), "writable by group or others"),
    (lambda d: (d.rmdir(), d.write_text("not a dir")), "not a directory"),
    (lambda d: os.chown(d, 12345, 12345), "belongs to user id 12345"),
])
def test_unsafe_state_dir_is_exit_3(setup, says, site, capsys):
    """state_dir a symlink, writable by group or others (sticky or not), a file, another user's: exit 3."""
    if says.startswith("belongs") and os.geteuid() != 0:
        pytest.skip("chown needs root")
    setup(site / "state")
    before = tree(site)
    refused(cli(["history", "backend"], capsys), 3, says)
    assert tree(site) == before


@pytest.mark.parametrize("suffix", ["state.json", "history.jsonl", "lock"])
@pytest.mark.parametrize("kind", ["symlink", "directory", "fifo"])
def test_state_files_are_regular_files_never_followed(suffix, kind, site, capsys):
    """A symlinked (or directory, FIFO) state.json, history or lock: exit 3 naming it; the link's target is
    never read or written."""
    path = site / "state" / f"backend.{suffix}"
    target = site / "target"
    target.write_text('{"secret": "not bluegreen\'s"}')
    {"symlink": lambda: path.symlink_to(target), "directory": path.mkdir, "fifo": lambda: os.mkfifo(path)}[kind]()
    before = tree(site)
    refused(cli(["history", "backend"], capsys), 3, f"state/backend.{suffix}")
    assert tree(site) == before


def test_oversized_state_files_are_exit_3(site, capsys):
    """state.json over 4 MiB (bluegreen writes a few kB) is refused, not parsed."""
    (site / "state" / "backend.state.json").write_bytes(b" " * ((4 << 20) + 1))
    refused(cli(["history", "backend"], capsys), 3, "larger than")


def test_history_reads_a_bounded_window(site, capsys, monkeypatch):
    """Only the newest HISTORY_WINDOW bytes are read; the line the window cuts is not "corrupt"."""
    monkeypatch.setattr(state_mod, "HISTORY_WINDOW", 300)
    state = StateDir(site / "state", "backend")
    for n in range(20):
        state.record({"time": f"t{n}", "action": "deploy", "result": "success", "reason": "x" * 40})
    code, out, err = cli(["history", "backend", "--json"], capsys)
    assert code == 0 and json.loads(out)[0]["time"] == "t19" and len(json.loads(out)) < 20


def test_a_torn_last_history_line_is_cut_before_the_next_entry(site):
    """After a run killed mid-write, the next entry starts on its own line: the file stays valid JSON lines."""
    state = StateDir(site / "state", "backend")
    state.record({"n": 1})
    with open(site / "state" / "backend.history.jsonl", "a") as f:
        f.write('{"n": 2, "tor')
    state.record({"n": 3})
    assert [e["n"] for e in state.history()] == [3, 1]
    assert (site / "state" / "backend.history.jsonl").read_text() == '{"n": 1}\n{"n": 3}\n'


def test_report_path_that_is_a_fifo_is_refused_not_waited_on(site, capsys):
    """--report naming a FIFO with no reader: exit 2 at once (the report is opened before anything changes)."""
    os.mkfifo(site / "report.fifo")
    refused(cli(["deploy", "backend", "--report", "report.fifo"], capsys), 2, "report.fifo")


def test_rejected_report_still_goes_to_stdout_with_json(site, capsys):
    """--json with a report path that cannot be written: the rejected report is still the one document."""
    code, out, err = cli(["deploy", "backend", "--json", "--report", "/nonexistent/r.json"], capsys)
    assert code == 2 and json.loads(out)["result"] == "rejected" and len(err.splitlines()) == 1


def test_reason_is_escaped_and_bounded():
    """--reason: ANSI and control characters shown escaped, at most REASON_LIMIT characters."""
    assert _reason_option("\x1b[31mbad\x1b[0m release\nforged: ok\u202e") == \
        "\\x1b[31mbad\\x1b[0m release\\nforged: ok\\u202e"
    long = _reason_option("x" * 10_000)
    assert len(long) == REASON_LIMIT and long.endswith("…")
    assert _reason_option("배포 실패: 롤백") == "배포 실패: 롤백"


def test_every_refusal_renders_as_one_line_in_both_languages():
    """Each config, option, report and state message is a single line in English and Korean."""
    import string

    from bluegreen.messages import en

    for key, template in en.MESSAGES.items():
        if key.split(".")[0] in ("config", "state", "report", "option", "cli", "yaml"):
            params = {name: "x" for _, name, _, _ in string.Formatter().parse(template) if name}
            for lang in ("en", "ko"):
                assert len(render(key, lang, **params).splitlines()) == 1, key


# --- accepted on purpose (README: "Security") ----------------------------------------------------
def test_a_bom_and_python_keywords_are_fine(site, capsys):
    """A UTF-8 BOM (some editors write one) and env names that are Python keywords are valid, not bad input."""
    (site / "bluegreen.yml").write_bytes(b"\xef\xbb\xbf" + VALID.replace(
        '{image: "app:1"}', '{image: "app:1", env: {class: {value: x}, import: {credential: c}}}').encode())
    code, out, err = cli(["config", "check"], capsys)
    assert code == 0 and err == "", err


def test_usage_error_keeps_its_class():
    """The documented classes: config/options → UsageError (2), state → StateCorrupt (3)."""
    assert UsageError("config.bad_value").exit_code == 2 and StateCorrupt("state.corrupt").exit_code == 3


def test_a_jenkins_credentials_file_that_is_a_fifo_is_refused_at_once(tmp_path):
    """`--credentials-file` pointing at a FIFO (mode 600) is one line, exit 2 — never a run that hangs."""
    import os

    from bluegreen.errors import UsageError
    from bluegreen.jenkins import connection

    fifo = tmp_path / "creds"
    os.mkfifo(fifo, 0o600)
    try:
        connection.resolve(str(fifo), environ={})
    except UsageError as error:
        assert error.exit_code == 2 and "not a regular file" in str(error)
    else:
        raise AssertionError("a FIFO was accepted")
