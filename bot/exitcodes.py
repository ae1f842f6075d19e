"""What a container exit code means, in words an on-call engineer can act on."""

from __future__ import annotations

_MEANINGS = {
    0: "success",
    1: "application error (the workload's own code exited with an error)",
    2: "misuse of a shell builtin or invalid arguments",
    126: "command found but not executable",
    127: "command not found (wrong entrypoint or missing binary)",
    128: "invalid exit argument",
    130: "interrupted (SIGINT)",
    134: "aborted (SIGABRT), often an assertion or native crash",
    137: "killed (SIGKILL): usually the memory limit, also a kill after the stop grace period or node loss",
    139: "segmentation fault (SIGSEGV)",
    143: "terminated (SIGTERM): replica timeout reached or the execution was stopped",
}

OOM = 137
SIGTERM = 143


def explain(code: int) -> str:
    if code in _MEANINGS:
        return _MEANINGS[code]
    if 128 < code < 160:
        return f"killed by signal {code - 128}"
    return "application-defined error code"
