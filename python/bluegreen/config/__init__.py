"""bluegreen.yml: reading it (file.py), its YAML (safe_yaml.py), validating it (schema.py, values.py) into frozen
values (settings.py); here, loading it once and expanding ${VAR} placeholders.

This package's own import is light on purpose: the rollback's quick path imports config.file to find state_dir
before anything heavy (PyYAML, the schema) is imported, so what load() needs is imported when it runs.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Mapping

if TYPE_CHECKING:
    from bluegreen.config.settings import Config

PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def load(path: str | os.PathLike[str] | None = None) -> Config:
    """Read and validate the config file; every problem names its key."""
    from bluegreen.config.file import config_path, read

    path = config_path(path)
    return loads(read(path), path)


def loads(data: bytes, path: Path) -> Config:
    """Validate a config file's bytes (read from `path`, or about to be written there: `bluegreen init`)."""
    from dataclasses import replace

    from bluegreen.config import safe_yaml
    from bluegreen.config.schema import parse
    from bluegreen.files import digest

    return replace(parse(safe_yaml.load(data, source=str(path)), source=path), digest=digest(data))


def expand(template: str, environ: Mapping[str, str], *, key: str) -> str:
    """Expand ${VAR} from the environment; every unset variable is reported at once."""
    from bluegreen.errors import MissingVariables

    missing = [n for n in PLACEHOLDER.findall(template) if not environ.get(n)]
    if missing:
        raise MissingVariables("env.missing", names=", ".join(dict.fromkeys(missing)), key=key)
    return PLACEHOLDER.sub(lambda m: environ[m.group(1)], template)
