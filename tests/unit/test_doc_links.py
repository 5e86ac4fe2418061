"""Nothing points at what is not there (issue 23): every relative link in the docs, and every repository file a
doc, comment or help text names, exists. A move that forgets a reference fails here."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "python" / "bluegreen"
# Where a named file may be: from the repository's root, the package's root (comments say `parts/nginx.py`), or
# beside the file that names it.
TOP = ("docs", "bench", "tests", "python", "resources", "scripts", "vars", "examples", ".ci")
NAMED = re.compile(r"(?<![\w/.$-])((?:(?:%s)/|(?:parts|operations|checks|jenkins|messages|config|cli|quick)/)"
                   r"[\w./-]*\w\.(?:py|md|sh|groovy|txt|yml|yaml|json|conf|Jenkinsfile|lock|pyz))\b"
                   % "|".join(re.escape(t) for t in TOP))
LINK = re.compile(r"\]\(([^)#\s]*)(?:#([^)\s]*))?\)")
SUFFIXES = {".md", ".py", ".groovy", ".sh", ".txt", ".yml", ".yaml", ".Jenkinsfile"}
# Files that name paths of other machines or generated ones, on purpose.
SKIP_DIRS = ("bench/results/", "tests/bad_inputs/", "docs/prototype-shared-dict/")
# The user's own hook scripts in the configuration examples: files of their repository, not of this one.
USERS_FILES = {"scripts/smoke-test.sh", "scripts/check-migrations.sh", "scripts/notify.sh", "scripts/page-oncall.sh",
               "scripts/check.sh"}


def tracked() -> list[Path]:
    out = subprocess.run(["git", "-C", str(REPO), "ls-files", "--cached", "--others", "--exclude-standard"],
                         capture_output=True, text=True, check=True).stdout.split("\n")
    return [REPO / p for p in out if p and (Path(p).suffix in SUFFIXES or p in ("Makefile", "Jenkinsfile"))
            and not p.startswith(SKIP_DIRS)]


def exists(name: str, where: Path) -> bool:
    if any(c in name for c in "<>*{}$") or name in USERS_FILES:  # a pattern, or the user's file
        return True
    return any((base / name).exists() for base in (REPO, PACKAGE, where.parent))


def test_every_named_file_exists() -> None:
    missing = []
    for path in tracked():
        if not path.exists():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        for lineno, line in enumerate(text.splitlines(), 1):
            names = NAMED.findall(line)
            missing += [f"{path.relative_to(REPO)}:{lineno}: {n}" for n in names if not exists(n, path)]
            if path.suffix == ".md":
                missing += [f"{path.relative_to(REPO)}:{lineno}: {target}#{frag}" for target, frag in LINK.findall(line)
                            if not re.match(r"[a-z]+:", target) and not _resolves(path, target, frag)]
    assert not missing, "named but not there:\n" + "\n".join(missing)


def anchors(path: Path) -> set[str]:
    """GitHub's anchors of a markdown file's headings: lower case, punctuation dropped, spaces to hyphens."""
    found, fenced = set(), False
    for line in path.read_text(encoding="utf-8").splitlines():
        fenced ^= line.startswith("```")
        if not fenced and (m := re.match(r"#{1,6} (.*)", line)):
            found.add(re.sub(r"[^\w\- ]", "", m.group(1).strip().lower()).replace(" ", "-"))
    return found


def _resolves(path: Path, target: str, frag: str) -> bool:
    """A link's file exists beside the markdown file that has it, and so does the heading it names."""
    file = (path.parent / target) if target else path
    if not file.exists():
        return False
    return not frag or file.suffix != ".md" or frag in anchors(file)
