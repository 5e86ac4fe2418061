"""What a bench result was measured on: the commit (and whether the tree had changes), so that the README's
figures say which code they describe (issue 23: nothing rots unseen)."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def measured_on() -> str:
    """`git describe --always --dirty` of the checkout, or "unknown" outside a git checkout."""
    try:
        out = subprocess.run(["git", "-C", str(ROOT), "describe", "--always", "--dirty", "--abbrev=12"],
                             capture_output=True, text=True, timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip() or "unknown"
