"""Run the Debian command-line tools some formats need (antiword, tesseract), bounded.

A tool runs under coreutils ``timeout``, so it dies on time even when the worker process that
started it is killed first (a killed worker cannot reap its children); a tool that is missing is
reported with the Debian package that provides it.
"""

from __future__ import annotations

import shutil
import subprocess

from ingest.loaders import LoadError


def require(tool: str, packages: str) -> str:
    """The tool's path, or :class:`LoadError` naming the Debian packages to install."""
    found = shutil.which(tool)
    if found is None:
        raise LoadError(
            f"needs the '{tool}' program, which is not installed: install the Debian package(s)"
            f" {packages} (apt-get install {packages}, or scripts/system-deps.sh)"
        )
    return found


def run_tool(
    args: list[str], timeout: float, stdin: bytes = b"", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    """Run ``args`` killed after ``timeout`` seconds (0: no limit); raises LoadError on time."""
    cmd = list(args)
    if timeout > 0 and shutil.which("timeout"):
        cmd = ["timeout", "-s", "KILL", f"{timeout:g}", *cmd]
    proc = subprocess.run(cmd, input=stdin, capture_output=True, env=env, check=False)
    if proc.returncode in (124, 137, -9):
        raise LoadError(f"{args[0].rsplit('/', 1)[-1]} took longer than {timeout:g} s")
    return proc
