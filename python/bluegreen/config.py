"""Loading bluegreen.yml: read the file once, validate it (config_schema.py), expand ${VAR} placeholders."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Mapping

from bluegreen import safe_yaml
from bluegreen.config_schema import parse
from bluegreen.errors import MissingVariables, UsageError
from bluegreen.settings import Config

PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
DEFAULT_PATH = "bluegreen.yml"


def load(path: str | os.PathLike[str] | None = None) -> Config:
    """Read and validate the config file; every problem names its key."""
    path = Path(path or os.environ.get("BLUEGREEN_CONFIG") or DEFAULT_PATH)
    if not path.exists() and not path.is_symlink():
        raise UsageError("config.not_found", path=str(path))
    return parse(safe_yaml.load_path(path), source=path)


def expand(template: str, environ: Mapping[str, str], *, key: str) -> str:
    """Expand ${VAR} from the environment; every unset variable is reported at once."""
    missing = [n for n in PLACEHOLDER.findall(template) if not environ.get(n)]
    if missing:
        raise MissingVariables("env.missing", names=", ".join(dict.fromkeys(missing)), key=key)
    return PLACEHOLDER.sub(lambda m: environ[m.group(1)], template)
