"""The error tree, and the one place that maps it to exit codes.

    BlueGreenError                   exit 1  an operation failed (after its automatic rollback)
    ├── DeployFailed                 exit 1  the candidate or the switch failed; traffic was kept/restored
    ├── RollbackUnavailable          exit 1  the rollback target does not run or is unhealthy; nothing changed
    ├── ToFix                        exit 1  `doctor`: at least one check failed (each with its fix); read-only
    ├── UsageError                   exit 2  bad input: config, names, options; nothing changed
    │   └── MissingVariables         exit 2  required environment variables are unset (all listed)
    ├── Inconsistent                 exit 3  `status`/`jenkins check`: the live state differs from what it should be
    ├── StateCorrupt                 exit 3  state_dir or a file in it is unsafe or not what bluegreen writes (a
    │                                        symlink, group-writable, not JSON…); the file and the repair are named,
    │                                        nothing changed
    ├── Stopped                      exit 3  the run stopped where it was and could not put back what it changed
    │                                        (the rollback's quick switch, after the CLI refused the rest): what it
    │                                        left is named by `status` and repaired by the next run
    ├── LockHeld                     exit 4  another operation holds the service lock (holder shown)
    │   └── ServiceBusy              exit 4  a staged deploy waits for promote/abort (named)
    ├── MonitorRolledBack            exit 5  post-deploy monitoring saw degradation and rolled back
    └── Unreachable                  exit 6  the Docker engine, the nginx container or Jenkins cannot be reached

An OSError naming a file bluegreen writes (state, history, lock: disk full, read-only, quota, the directory
removed under the run — a WriteFailed, whatever its errno) exits 3 too: the run stopped where it was, as a killed one
does, and `status` names what it left. Click's own usage errors exit 2.
Messages carry a catalogue key and its parameters, so the CLI can say them in the operator's language; `str()`
gives the English text for logs and tests.
"""

from __future__ import annotations

import errno


class BlueGreenError(Exception):
    exit_code = 1

    def __init__(self, key: str, /, **params: object) -> None:
        self.key = key
        self.params = params
        super().__init__(key)

    def __str__(self) -> str:
        from bluegreen.messages import render

        return render(self.key, "en", **self.params)


class DeployFailed(BlueGreenError):
    exit_code = 1


class RollbackUnavailable(BlueGreenError):
    exit_code = 1


class ToFix(BlueGreenError):
    exit_code = 1


class UsageError(BlueGreenError):
    exit_code = 2


class MissingVariables(UsageError):
    exit_code = 2


class Inconsistent(BlueGreenError):
    exit_code = 3


class StateCorrupt(BlueGreenError):
    exit_code = 3


class Stopped(BlueGreenError):
    exit_code = 3


class LockHeld(BlueGreenError):
    exit_code = 4


class ServiceBusy(LockHeld):
    exit_code = 4


class MonitorRolledBack(BlueGreenError):
    exit_code = 5


class Unreachable(BlueGreenError):
    exit_code = 6


def exit_code_for(error: BaseException) -> int:
    """The documented exit code for any error the CLI can meet: the one place errors become exit codes."""
    if isinstance(error, BlueGreenError):
        return error.exit_code
    if isinstance(error, KeyboardInterrupt):
        return 130
    if storage_failure(error):
        return 3
    return 1


STORAGE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EIO, errno.EACCES, errno.EPERM})


class WriteFailed(OSError):
    """A write to a file bluegreen keeps in state_dir failed, for whatever reason (state_files.naming): storage,
    never a bug, whatever the errno (ENOENT when the directory was removed under the run, ENAMETOOLONG…)."""


def storage_failure(error: BaseException) -> bool:
    """A write to a file bluegreen keeps failed (state_files names the file), or any OSError naming a file that
    says space or permission is missing."""
    if isinstance(error, WriteFailed):
        return error.filename is not None
    return isinstance(error, OSError) and error.errno in STORAGE_ERRNOS and error.filename is not None
