"""How strongly the worker is isolated: bubblewrap when a start-up probe shows it works, else process.

`process`: a separate process with rlimits, an allow-listed environment and a temporary folder
(see runner.py); it can still read what the grader's user can read and open the network.
`bwrap`: additionally new user, PID, network, IPC and UTS namespaces, no capabilities, a
read-only view of only what Python needs, the job folder as the one writable place, a private
/tmp, and uid 65534 inside; killing it takes its whole PID namespace down, `setsid()`
grandchildren included.
"""

from __future__ import annotations

import functools
import glob
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from grader.errors import IsolationUnavailable

MODES = ("auto", "process", "strict")
PACKAGE_ROOT = Path(__file__).resolve().parents[2]  # holds grader/, which the worker imports
_SYSTEM = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/etc/ld.so.cache", "/etc/alternatives", "/etc/localtime")


def resolve(mode: str) -> str:
    """auto: bwrap if it works here, else process; strict: bwrap or IsolationUnavailable; process: process."""
    if mode not in MODES:
        raise IsolationUnavailable(f"unknown isolation {mode!r}: use {', '.join(MODES)}")
    if mode == "process":
        return "process"
    if bwrap_works():
        return "bwrap"
    if mode == "strict":
        raise IsolationUnavailable("--isolation strict needs bubblewrap with user namespaces, and it does not work here "
                                   "(install the bubblewrap package; on Ubuntu 24.04 also run "
                                   "'sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0')")
    return "process"


def wrap(command: list[str], job: Path, workdir: Path, isolation: str) -> list[str]:
    """The worker's command line under the chosen isolation."""
    if isolation == "process":
        return command
    return _bwrap_arguments(job, workdir) + ["--", *command]


def _bwrap_arguments(job: Path, workdir: Path) -> list[str]:
    args = ["bwrap", "--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
            "--uid", "65534", "--gid", "65534", "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]
    for path in _SYSTEM:
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.exists(path):
            args += ["--ro-bind", path, path]
    python = {Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve(), Path(sys.prefix), Path(sys.executable).resolve().parent}
    for path in sorted(str(p) for p in python if not str(p).startswith(("/usr/", "/bin", "/lib"))):
        args += ["--ro-bind", path, path]
    args += ["--ro-bind", str(PACKAGE_ROOT / "grader"), str(PACKAGE_ROOT / "grader")]
    gpus = glob.glob("/dev/nvidia*")
    for device in gpus:  # the GPU, when the grader trains on one
        args += ["--dev-bind", device, device]
    if gpus:
        args += ["--ro-bind", "/sys", "/sys"]  # the CUDA driver reads the PCI topology there
    args += ["--bind", str(job), str(job), "--chdir", str(workdir)]
    return args


@functools.cache
def bwrap_works() -> bool:
    """The start-up probe: can bubblewrap start this Python with our arguments on this machine?"""
    if shutil.which("bwrap") is None:
        return False
    with tempfile.TemporaryDirectory(prefix="grader-probe-") as folder:
        probe = wrap([sys.executable, "-I", "-c", "import json"], Path(folder), Path(folder), "bwrap")
        try:
            return subprocess.run(probe, stdin=subprocess.DEVNULL, capture_output=True, timeout=30).returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            return False
