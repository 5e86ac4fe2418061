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
    ├── LockHeld                     exit 4  another operation holds the service lock (holder shown)
    │   └── ServiceBusy              exit 4  a staged deploy waits for promote/abort (named)
    ├── MonitorRolledBack            exit 5  post-deploy monitoring saw degradation and rolled back
    └── Unreachable                  exit 6  the Docker engine, the nginx container or Jenkins cannot be reached

An OSError naming a file bluegreen writes (state, history: disk full, read-only, quota) exits 3 too: the run
stopped where it was, as a killed one does, and `status` names what it left. Click's own usage errors exit 2.
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


def storage_failure(error: BaseException) -> bool:
    """A write to a file bluegreen keeps failed for lack of space or permission (state_files names the file)."""
    return isinstance(error, OSError) and error.errno in STORAGE_ERRNOS and error.filename is not None
