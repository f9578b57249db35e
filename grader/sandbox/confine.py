"""Confining a worker as far as this machine allows, beyond rlimits: whose it is, a cgroup, a watchdog.

- **Who the worker is** (process isolation, grader running as root): a uid of its own, so it can
  neither signal the grader nor read its memory or its files, the kernel applies RLIMIT_NPROC to it,
  and every process of that uid is the job's. Where that uid cannot run this Python (an interpreter
  under /root, say), it stays root with every capability dropped: without CAP_SYS_PTRACE it cannot
  read the memory of the grader, which makes itself undumpable.
- **A cgroup** when the grader can make one (root): processes and memory capped where those
  controllers are available (cgroup v2, or v1's), and the whole tree killed at once, `setsid()`
  grandchildren with a cleared environment included.
- **A watchdog**: a separate small process that kills the worker at the grader's current deadline
  even while the grader is stopped (SIGSTOP). As root it drops its real and saved uid, so a worker
  running as root without CAP_KILL cannot signal it either.

`LAUNCHER` runs as root between the grader and the worker's command: it joins the cgroups, then
changes identity, then executes the command. Only the standard library, so the watchdog starts fast.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

JOB_PREFIX, JOB_LOCK = "grader-job-", "grader.lock"  # a job folder in the temp folder, and the lock its grader holds
UID_FIRST, UID_COUNT = 2_100_000_000, 1_000_000  # uids no account uses: one per job, drawn at random
CAP_LAST = 63  # every capability the kernel may know
PR_SET_DUMPABLE, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS = 4, 24, 38
CGROUP_ROOT = Path("/sys/fs/cgroup")
DISK_ENTRIES = 20_000  # files and folders a job may make; more is itself a disk attack
_taken: set[int] = set()  # uids handed to live jobs of this grader (batch threads)
_taken_lock = threading.Lock()


@dataclass
class Confinement:
    uid: int | None = None  # the worker's own uid; None: the grader's (or root without capabilities)
    drop_capabilities: bool = False  # root worker without any capability (no uid of its own could run Python)
    cgroups: list[Path] = field(default_factory=list)  # the job's cgroup folders (v2, or one per v1 controller)
    caps: dict[str, str] = field(default_factory=dict)  # what the cgroups limit: {"pids": "512", "memory": ...}

    @property
    def launcher_needed(self) -> bool:
        return self.uid is not None or self.drop_capabilities or bool(self.cgroups)


def confine(job_name: str, isolated_by_bwrap: bool, processes: int, memory_bytes: int) -> Confinement:
    """What this machine allows for one job. Only root can give a worker another uid or make cgroups."""
    conf = Confinement()
    if not isolated_by_bwrap:  # bubblewrap: another PID namespace, the grader is not even visible
        _undumpable_grader()
    if os.geteuid() != 0:
        return conf
    if not isolated_by_bwrap:  # bubblewrap gives the worker its own (unprivileged) user namespace already
        conf.uid = _draw_uid() if _another_uid_runs_python() else None
        conf.drop_capabilities = conf.uid is None
    conf.cgroups, conf.caps = _make_cgroups(job_name, processes, memory_bytes)
    return conf


def available() -> dict[str, str]:
    """What a job's cgroup would cap on this machine ({} when the grader cannot make one), by a throwaway cgroup."""
    if os.geteuid() != 0:
        return {}
    folders, caps = _make_cgroups(f"grader-probe-{os.getpid()}-{random.randrange(1 << 30)}", 1000, 1 << 30)
    release(Confinement(cgroups=folders))
    return caps


def own_uid_available() -> bool:
    """Will a process-isolated worker run as a uid of its own here (a root grader whose Python any uid can run)?"""
    return os.geteuid() == 0 and _another_uid_runs_python()


def release(conf: Confinement) -> None:
    for folder in conf.cgroups:
        for _ in range(100):  # a killed descendant is gone once init has reaped it: usually milliseconds
            try:
                folder.rmdir()
                break
            except FileNotFoundError:
                break
            except OSError:
                time.sleep(0.05)
    with _taken_lock:
        _taken.discard(conf.uid)


def _undumpable_grader() -> None:
    """A worker of the grader's uid (or root without CAP_SYS_PTRACE) may not read an undumpable process's
    memory or environment (/proc/<grader>/mem: the evaluation labels). The grader makes no core dumps then."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)


def _draw_uid() -> int:
    running = _uids_running()
    with _taken_lock:
        while (uid := UID_FIRST + random.randrange(UID_COUNT)) in running or uid in _taken:
            pass
        _taken.add(uid)
    return uid


def _uids_running() -> set[int]:
    uids = set()
    for status in Path("/proc").glob("[0-9]*/status"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            uids.add(int(next(line for line in status.read_text().splitlines() if line.startswith("Uid:")).split()[1]))
    return uids


_CAN_RUN = "import sys; sys.path.insert(0, sys.argv[1]); import grader, numpy"


def _another_uid_runs_python() -> bool:
    """Can an unprivileged uid start this Python and import the grader? Not when it lives under /root."""
    if not hasattr(_another_uid_runs_python, "answer"):
        from grader.sandbox.isolation import PACKAGE_ROOT

        try:
            done = subprocess.run([sys.executable, "-I", "-c", _CAN_RUN, str(PACKAGE_ROOT)], user=UID_FIRST - 1, group=UID_FIRST - 1,
                                  extra_groups=[], stdin=subprocess.DEVNULL, capture_output=True, timeout=60, cwd="/")
            _another_uid_runs_python.answer = done.returncode == 0
        except (OSError, subprocess.SubprocessError):
            _another_uid_runs_python.answer = False
    return _another_uid_runs_python.answer


# --- cgroups -----------------------------------------------------------------------------------

def _make_cgroups(name: str, processes: int, memory_bytes: int) -> tuple[list[Path], dict[str, str]]:
    """A v2 cgroup beside the grader's (kill, and pids/memory where enabled), plus v1 pids/memory
    cgroups where those controllers are mounted as v1. Anything refused is simply not used."""
    folders, caps = [], {}
    unified = _v2_mount()
    if unified is not None:
        _sweep(unified / _own_cgroup(""))
        folder = _mkdir(unified / _own_cgroup("") / name)
        if folder is not None:
            folders.append(folder)
            caps["kill"] = "cgroup.kill" if (folder / "cgroup.kill").exists() else "kill loop"
            caps |= _write_caps(folder, {"pids.max": processes, "memory.max": memory_bytes, "memory.swap.max": 0})
    for controller, key, value in (("pids", "pids.max", processes), ("memory", "memory.limit_in_bytes", memory_bytes)):
        if controller in caps or not (CGROUP_ROOT / controller / "cgroup.procs").exists():
            continue
        _sweep(CGROUP_ROOT / controller / _own_cgroup(controller))
        folder = _mkdir(CGROUP_ROOT / controller / _own_cgroup(controller) / name)
        if folder is not None:
            folders.append(folder)
            caps |= _write_caps(folder, {key: value})
    return folders, caps


def _sweep(parent: Path) -> None:
    """Remove the cgroups of finished jobs that release() could not (a descendant not yet reaped then): a job's
    cgroup is named after its job folder, and a job whose folder is gone is over. rmdir refuses a busy one."""

    for folder in parent.glob(JOB_PREFIX + "*"):
        if not (Path(tempfile.gettempdir()) / folder.name).exists():
            with contextlib.suppress(OSError):
                folder.rmdir()


def _v2_mount() -> Path | None:
    for line in Path("/proc/self/mounts").read_text().splitlines():
        fields = line.split()
        if len(fields) > 2 and fields[2] == "cgroup2":
            return Path(fields[1])
    return None


def _own_cgroup(controller: str) -> str:
    """The grader's cgroup path for a v1 controller, or the v2 one ("")."""
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if controller in controllers.split(",") or (not controller and not controllers):
            return path.lstrip("/")
    return ""


def _mkdir(folder: Path) -> Path | None:
    try:
        folder.mkdir()
        return folder
    except OSError:
        return None


def _write_caps(folder: Path, values: dict[str, int]) -> dict[str, str]:
    done = {}
    for key, value in values.items():
        with contextlib.suppress(OSError):
            (folder / key).write_text(str(value))
            done[key.split(".")[0] if key != "memory.swap.max" else "swap"] = str(value)
    return done


# --- launching and killing ---------------------------------------------------------------------

LAUNCHER = """
import ctypes, json, os, sys
conf = json.loads(sys.argv[1])
for folder in conf["cgroups"]:
    with open(os.path.join(folder, "cgroup.procs"), "w") as procs:
        procs.write(str(os.getpid()))
libc = ctypes.CDLL(None, use_errno=True)
if conf["uid"] is not None:
    os.setgroups([])
    os.setresgid(conf["uid"], conf["uid"], conf["uid"])
    os.setresuid(conf["uid"], conf["uid"], conf["uid"])
elif conf["drop_capabilities"]:
    for cap in range(conf["cap_last"] + 1):
        libc.prctl(24, cap, 0, 0, 0)  # PR_CAPBSET_DROP: exec as root gives them back no more
    header, data = (ctypes.c_uint32 * 2)(0x20080522, 0), (ctypes.c_uint32 * 6)()
    if libc.capset(header, data) != 0:
        sys.exit("grader: could not drop capabilities")
libc.prctl(38, 1, 0, 0, 0)  # PR_SET_NO_NEW_PRIVS: no setuid program gives anything back either
os.execv(sys.argv[2], sys.argv[2:])
"""


def launch_command(command: list[str], conf: Confinement) -> list[str]:
    if not conf.launcher_needed:
        return command
    settings = {"uid": conf.uid, "drop_capabilities": conf.drop_capabilities, "cgroups": [str(c) for c in conf.cgroups],
                "cap_last": CAP_LAST}
    return [sys.executable, "-I", "-S", "-c", LAUNCHER, json.dumps(settings), *command]


def kill_all(conf: Confinement, group: int) -> None:
    """SIGKILL the worker's process group and, where there is one, its cgroup and its uid's every process."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(group, signal.SIGKILL)
    for folder in conf.cgroups:
        if (folder / "cgroup.kill").exists():
            with contextlib.suppress(OSError):
                (folder / "cgroup.kill").write_text("1")
        for _ in range(20):  # v1: no cgroup.kill; pids.max bounds how many a fork bomb can make meanwhile
            pids = _read_pids(folder)
            if not pids:
                break
            for pid in pids:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
    if conf.uid is not None:
        for _ in range(20):  # kill(-1) as that uid would be neater, but needs a process of that uid
            pids = [int(s.parent.name) for s in Path("/proc").glob("[0-9]*/status") if _uid_of(s) == conf.uid]
            if not pids:
                break
            for pid in pids:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)


def _read_pids(folder: Path) -> list[int]:
    try:
        return [int(p) for p in (folder / "cgroup.procs").read_text().split()]
    except (OSError, ValueError):
        return []


def _uid_of(status: Path) -> int | None:
    try:
        return int(next(line for line in status.read_text().splitlines() if line.startswith("Uid:")).split()[1])
    except (OSError, StopIteration, ValueError, IndexError):
        return None


def hand_over(job: Path, uid: int) -> None:
    """The worker's own uid may write only its job's out/, home/, tmp/ and submission copy, and read the rest."""
    os.chown(job, 0, uid)  # its group (the launcher gives it gid = uid) may add files; no other job's uid may enter
    job.chmod(0o1770)  # sticky: it cannot rename or replace what the grader put there (data/, request.json, the lock)
    for path in [job / "request.json", *(job / "data").iterdir()]:
        path.chmod(0o644)
    (job / "data").chmod(0o755)
    for folder in ("out", "home", "tmp", "submission"):
        for path in [job / folder, *(job / folder).rglob("*")]:
            os.chown(path, uid, uid, follow_symlinks=False)


def disk_check(job: Path, disk_mb: float):
    """check() -> "" or why the worker must stop: what the job folder holds on disk beyond what the grader put there."""
    start, cap = disk_used(job), int(disk_mb * (1 << 20))

    def check() -> str:
        used = disk_used(job)
        if used < 0:
            return f"the worker was stopped: it made more than {DISK_ENTRIES} files"
        return f"the worker was stopped: it wrote more than {disk_mb:g} MB" if used - start > cap else ""

    return check


def disk_used(job: Path) -> int:
    """Bytes the job folder takes on disk; -1 when it holds more than DISK_ENTRIES files (itself an attack)."""
    total, entries, stack = 0, 0, [str(job)]
    while stack:
        with contextlib.suppress(OSError), os.scandir(stack.pop()) as folder:
            for entry in folder:
                entries += 1
                if entries > DISK_ENTRIES:
                    return -1
                with contextlib.suppress(OSError):
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(entry.path)
                    total += entry.stat(follow_symlinks=False).st_blocks * 512
    return total


# --- the watchdog ------------------------------------------------------------------------------

WATCHDOG = "import sys; sys.path.insert(0, sys.argv[1]); from grader.sandbox.confine import watchdog_main; watchdog_main()"


class Watchdog:
    """Kills the worker at the deadline the grader last gave it, whether or not the grader still runs."""

    def __init__(self, conf: Confinement, group: int):
        from grader.sandbox.isolation import PACKAGE_ROOT

        settings = json.dumps({"group": group, "uid": conf.uid, "cgroups": [str(c) for c in conf.cgroups],
                               "drop_uid": UID_FIRST - 1 if os.geteuid() == 0 else None})
        self.process = subprocess.Popen([sys.executable, "-I", "-S", "-c", WATCHDOG, str(PACKAGE_ROOT), settings],
                                        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, start_new_session=True)
        self.deadline = None

    def set_deadline(self, deadline: float) -> None:
        """`deadline` on the time.monotonic() clock, the same in every process of this machine."""
        if deadline != self.deadline:
            self.deadline = deadline
            with contextlib.suppress(OSError):
                self.process.stdin.write(f"{deadline!r}\n".encode())
                self.process.stdin.flush()

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self.process.stdin.close()  # EOF: it kills what is left and exits
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def watchdog_main() -> None:
    import select

    settings = json.loads(sys.argv[2])
    conf = Confinement(uid=settings["uid"], cgroups=[Path(c) for c in settings["cgroups"]])
    if settings["drop_uid"] is not None:  # keep euid 0 to kill, but a root worker without CAP_KILL cannot signal us
        os.setresuid(settings["drop_uid"], 0, settings["drop_uid"])
    ctypes.CDLL(None).prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    deadline, pending = float("inf"), b""
    while (left := deadline - time.monotonic()) > 0:
        if not select.select([0], [], [], min(left, 3600.0))[0]:
            continue
        data = os.read(0, 4096)
        if not data:
            break  # the grader is done with this worker, or gone
        pending += data
        *lines, pending = pending.split(b"\n")
        if lines:
            deadline = float(lines[-1])
    kill_all(conf, settings["group"])
