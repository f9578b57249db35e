"""The parent side of the trust boundary: start a worker, watch its time, read back plain data.

The worker is a fresh `python -I` process started from a fixed bootstrap, in its own session,
in a temporary job folder, with an allow-listed environment, rlimits, stdin closed and its
output going to files. Only JSON and `.npy`/`.npz` arrays (read with allow_pickle=False) come
back, and every value is checked before the grade uses it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from grader import numerics
from grader import protocol as P
from grader.errors import Stopped
from grader.load import Submission
from grader.rubric import Limits
from grader.sandbox import channel, confine, isolation

POLL_SECONDS = 0.05
DISK_CHECK_SECONDS = 0.2  # how often the job folder's size is measured: a disk filler overshoots by what it writes meanwhile
JOB_PREFIX, JOB_LOCK = "grader-job-", "grader.lock"  # a job folder in the temp folder, and the lock its grader holds
STARTUP_SECONDS = 180.0  # the worker's own start (importing torch) on a loaded machine; not the submission's time
STOPPING = threading.Event()  # the grader was told to stop (grader.cli sets it): every watch loop ends its worker

# Runs first in the worker, before any student code: limits, output caps, then the worker.
BOOTSTRAP = """
import ctypes, json, os, resource, signal, sys, threading
ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: die with the grader, even if it is SIGKILLed
limits = json.loads(sys.argv[2])
ctypes.CDLL(None).prctl(4, limits.pop("DUMPABLE", 1))  # PR_SET_DUMPABLE 0: a neighbour job's worker cannot read this one's memory
def die_with_the_grader(lifeline):
    # The grader holds the pipe's only write end: EOF means it is gone, even if it died before the
    # prctl above ran, or bubblewrap stands between us (PDEATHSIG only watches the direct parent).
    os.read(lifeline, 1)
    os.killpg(0, signal.SIGKILL)
threading.Thread(target=die_with_the_grader, args=(int(sys.argv[5]),), daemon=True).start()
for name, value in limits.items():
    resource.setrlimit(getattr(resource, name), (value, value))
class CappedOutput:
    def __init__(self, stream, cap):
        self.stream, self.left = stream, cap
    def write(self, text):
        if self.left > 0:
            self.stream.write(text[: self.left])
            self.left -= len(text)
            if self.left <= 0:
                self.stream.write("\\n[output truncated by the grader]\\n")
        return len(text)
    def __getattr__(self, name):
        return getattr(self.stream, name)
cap = int(sys.argv[3])
sys.stdout, sys.stderr = CappedOutput(sys.stdout, cap), CappedOutput(sys.stderr, cap)
sys.path.insert(0, sys.argv[4])
from grader.sandbox.worker import main
main(sys.argv[1])
"""


@dataclass(frozen=True)
class EpochOutput:
    epoch: int  # 0: before training
    train_loss: float | None
    first_loss: float | None  # epoch 1: the loss of the first batch, before any optimizer step
    seconds: float  # training time since the start of epoch 1
    predictions: np.ndarray  # (M,) int64, checked


@dataclass(frozen=True)
class WorkerRun:
    inspection: dict | None  # the worker's trace, as JSON (types checked by the caller)
    tensors: dict[str, np.ndarray]  # every tensor the manifest names, for counting
    epochs: tuple[EpochOutput, ...]
    error: dict | None  # {"stage", "message", "traceback"}
    device: str
    torch_version: str
    isolation: str
    output: str  # the tail of what the submission printed
    seconds: float
    activations: list[dict]  # per-layer statistics after training (unchecked: see diagnose)
    feature_maps: dict[str, np.ndarray]  # conv layer name -> (C, H, W) for the sample digit
    graph: dict | None = None  # the model worker's exported graph (unchecked: grader.inspect.graph checks it)
    graph_arrays: dict[str, np.ndarray] | None = None
    export_failure: str = ""  # why the export failed, when it did
    probe: dict | None = None  # the trainer's gradient check: feature -> bool (unchecked)



@dataclass(frozen=True)
class Graph:
    """What the trainer gets: the checked graph, and the feature nodes whose gradients it reports."""

    graph: dict
    arrays: dict[str, np.ndarray]
    features: dict[str, tuple[str, ...]]


@dataclass(frozen=True)
class TrainingData:
    """What the worker may see: training images with labels, evaluation images without."""

    train_images: np.ndarray
    train_labels: np.ndarray
    eval_images: np.ndarray


def run_worker(
    submission: Submission | Graph,
    request: dict,
    limits: Limits,
    data: TrainingData | None = None,
    on_epoch: Callable[[EpochOutput], None] = lambda e: None,
    isolation_mode: str = "auto",
) -> WorkerRun:
    """Run a worker to the end, a timeout, or a crash: the model worker on a Submission's files, or the trainer on a
    Graph (it never sees the files). Never raises for the submission's faults (only IsolationUnavailable, when
    strict isolation was asked for and cannot be had)."""
    applied = isolation.resolve(isolation_mode)
    _remove_abandoned_jobs()
    job = Path(tempfile.mkdtemp(prefix=JOB_PREFIX))
    try:
        with open(job / JOB_LOCK, "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # held while this grader lives; its death, SIGKILL included, frees it
            return _run(job, submission, request, limits, data, on_epoch, applied)
    finally:
        shutil.rmtree(job, ignore_errors=True)


def _remove_abandoned_jobs() -> None:
    """Delete the job folders of graders that were killed before they could (tens of MB of data each):
    their lock is free. A folder younger than a minute may be one whose grader has not locked it yet."""
    for job in Path(tempfile.gettempdir()).glob(JOB_PREFIX + "*"):
        try:
            if time.time() - job.stat().st_mtime < 60:
                continue
            with open(job / JOB_LOCK) as lock:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                shutil.rmtree(job, ignore_errors=True)
        except FileNotFoundError:  # its grader died between creating the folder and locking it
            shutil.rmtree(job, ignore_errors=True)
        except OSError:  # in use, or another user's
            continue


def _run(job, work: Submission | Graph, request, limits, data, on_epoch, applied: str) -> WorkerRun:
    for folder in (job / P.OUT, job / "home", job / "tmp", job / P.DATA):
        folder.mkdir()
    trainer = isinstance(work, Graph)
    request = {**request, P.ROLE: P.TRAINER if trainer else P.MODEL}
    if trainer:
        np.savez(job / P.GRAPH_TENSORS, **work.arrays)
        (job / P.GRAPH_FILE).write_text(json.dumps(work.graph))
        request[P.FEATURES] = {k: list(v) for k, v in work.features.items()}
        workdir = job
    else:
        root = job / P.SUBMISSION
        _copy_submission(work, root)
        request[P.ROOT] = str(root)
        workdir = (root / request[P.FILE]).parent  # where the student ran it
    (job / P.REQUEST).write_text(json.dumps(request))
    if data is not None:
        for name in P.DATA_FILES:
            np.save(job / P.DATA / f"{name}.npy", getattr(data, name), allow_pickle=False)
    conf = confine.confine(job.name, applied == isolation.BWRAP, limits.processes, int(limits.memory_gb * (1 << 30)))
    try:
        return _run_confined(job, workdir, request, limits, data, on_epoch, applied, conf)
    finally:
        confine.release(conf)


def _run_confined(job, workdir: Path, request, limits, data, on_epoch, applied: str, conf: confine.Confinement) -> WorkerRun:
    home = job / "home"
    if conf.uid is not None:
        confine.hand_over(job, conf.uid)

    trainer, grading = request[P.ROLE] == P.TRAINER, request[P.MODE] == P.GRADE
    epochs_at_most = request.get(P.EPOCHS, 0) if grading else 0
    cpu_seconds = int((limits.load_seconds + 2 * limits.inspect_seconds + (epochs_at_most + 1) * limits.epoch_seconds) * numerics.THREADS) + 60
    rlimits = {"RLIMIT_CORE": 0, "RLIMIT_CPU": cpu_seconds, "RLIMIT_DATA": int(limits.memory_gb * (1 << 30)),
               "RLIMIT_FSIZE": 512 << 20, "RLIMIT_NOFILE": 1024}
    if conf.uid is not None:  # a uid of its own: the kernel counts exactly this job's processes
        rlimits["RLIMIT_NPROC"] = limits.processes
    elif os.geteuid() != 0:  # the kernel counts processes per user and never limits root's
        rlimits["RLIMIT_NPROC"] = _processes_of_this_user() + limits.processes
    if os.geteuid() == 0 or applied == isolation.BWRAP:  # not for a non-root grader of the same uid: it could no longer
        rlimits["DUMPABLE"] = 0  # read the job marker in the environment of a setsid() descendant that kept it
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(home), "TMPDIR": str(job / "tmp"),
           "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1",
           **numerics.worker_environment(), "MPLBACKEND": "Agg",
           "GRADER_JOB": job.name}  # inherited by every descendant: how the kill finds those that left the group
    if "CUDA_VISIBLE_DEVICES" in os.environ:
        env["CUDA_VISIBLE_DEVICES"] = os.environ["CUDA_VISIBLE_DEVICES"]
    lifeline, grader_end = os.pipe()  # the worker dies when it reads EOF here: the grader is gone, however it went
    command = isolation.wrap([sys.executable, "-I", "-c", BOOTSTRAP, str(job), json.dumps(rlimits),
                              str(int(limits.output_mb * (1 << 20))), str(isolation.PACKAGE_ROOT), str(lifeline)],
                             job, workdir, applied, int(limits.disk_mb * (1 << 20)))
    command = confine.launch_command(command, conf)

    started = time.monotonic()
    images = len(data.eval_images) if data is not None else 0
    with open(job / "output.txt", "w+b") as output, open(grader_end, "wb"):  # closed by exit or death: the worker's cue
        with open(lifeline, "rb"):  # the worker holds its own copy
            process = subprocess.Popen(command, cwd=workdir, env=env, stdin=subprocess.DEVNULL, pass_fds=(lifeline,),
                                       stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
        watchdog = confine.Watchdog(conf, process.pid)  # holds the time limits while the grader is stopped
        watch = _Watch(job, limits, on_epoch, images, epochs_at_most, watchdog.set_deadline, confine.disk_check(job, limits.disk_mb))
        try:
            timeout = watch.follow(process)
        finally:
            _kill_tree(process, job.name, conf)
            watchdog.stop()
        printed = channel.tail(output)
    error = timeout or _read_error(job) or _exit_error(process.returncode, watch.stage, watch.done)
    graph, graph_arrays, export_failure = (None, None, "") if trainer else _read_graph(job)
    trains_here = grading and (trainer or (graph is None and watch.stage not in ("start", "load", "inspect")))
    if error is None and trains_here and len(watch.epochs) != epochs_at_most + 1:
        error = {"stage": "train", "message": watch.problem or "the worker stopped before training finished", "traceback": ""}
    inspection, tensors = (None, {}) if trainer or watch.stage in ("start", "load") else _read_inspection(job)
    if inspection is None and error is None and not trainer:
        error = {"stage": "inspect", "message": "the worker returned no readable inspection", "traceback": ""}
    activations, feature_maps = _read_activations(job) if error is None and trains_here else ([], {})
    probe = _read_probe(job) if trainer and error is None else None
    return WorkerRun(inspection, tensors, tuple(watch.epochs), error, watch.device, watch.torch_version, applied, printed,
                     time.monotonic() - started, activations, feature_maps, graph, graph_arrays, export_failure, probe)


def _read_graph(job: Path) -> tuple[dict | None, dict | None, str]:
    """(graph, arrays, "") when the export succeeded, (None, None, why) when it failed or sent something unreadable."""
    try:
        graph = channel.read_json(job / P.GRAPH_FILE)
    except channel.BadOutput:
        return None, None, ""  # the worker did not get that far
    if isinstance(graph, dict) and "failed" in graph:
        return None, None, str(graph["failed"])[:300] or "the export failed"
    try:
        return graph, channel.load_arrays(job / P.GRAPH_TENSORS), ""
    except channel.BadOutput as e:
        return None, None, f"the exported tensors are unreadable or too large ({e})"


def _read_probe(job: Path) -> dict | None:
    try:
        probe = channel.read_json(job / P.PROBE)
        answer = probe.get(P.FEATURES)
        return {str(k)[:20]: v is True for k, v in answer.items()} if isinstance(answer, dict) else None
    except (channel.BadOutput, AttributeError):
        return None


def _copy_submission(submission: Submission, target: Path) -> None:
    """The files the submission hands in (grader.load.folder chose them), and nothing else."""
    for rel in submission.files:
        (target / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(Path(submission.root) / rel, target / rel)


class _Watch:
    """Follows the worker's event file, enforces each stage's wall-clock limit, collects epochs.

    Stages only move forward and each epoch is counted once, so replaying events cannot reset a
    timer; an overall deadline (the sum of every stage's limit) caps the run whatever it writes.
    """

    def __init__(self, job: Path, limits: Limits, on_epoch, images: int, epochs: int,
                 on_deadline: Callable[[float], None] = lambda t: None, disk_check: Callable[[], str] = lambda: ""):
        self.job, self.limits, self.on_epoch, self.images = job, limits, on_epoch, images
        self.on_deadline, self.disk_check, self._disk_checked = on_deadline, disk_check, 0.0
        self.stage, self.since, self.done, self.problem = "start", time.monotonic(), False, ""
        self.deadline = (self.since + STARTUP_SECONDS + limits.load_seconds + 2 * limits.inspect_seconds  # inspect, export
                         + (epochs + 1) * limits.epoch_seconds)
        self.epochs: list[EpochOutput] = []
        self.device = self.torch_version = ""
        self._offset = 0

    def follow(self, process: subprocess.Popen) -> dict | None:
        while process.poll() is None:
            if STOPPING.is_set():  # in any thread: the caller's `finally` kills the worker's tree and frees its cgroup
                raise Stopped
            self._read_events()
            limit = self._limit()
            now = time.monotonic()
            self.on_deadline(min(self.since + limit, self.deadline))  # the watchdog's copy, for a stopped grader
            if now - self.since > limit or now > self.deadline:
                return self._timed_out(limit)
            if now - self._disk_checked > DISK_CHECK_SECONDS:
                self._disk_checked = now
                if problem := self.disk_check():
                    return {"stage": _error_stage(self.stage), "message": problem, "traceback": ""}
            time.sleep(POLL_SECONDS)
        self._read_events()
        if time.monotonic() > min(self.since + self._limit(), self.deadline):  # the watchdog killed it while we were stopped
            return self._timed_out(self._limit())
        return None

    def _limit(self) -> float:
        return {"start": STARTUP_SECONDS, "load": self.limits.load_seconds, "inspect": self.limits.inspect_seconds,
                "export": self.limits.inspect_seconds, "done": 10.0}.get(self.stage, self.limits.epoch_seconds)  # done: time to exit

    def _timed_out(self, limit: float) -> dict:
        doing = f"training (epoch {len(self.epochs)})" if self.stage == "train" else {
            "start": "starting the worker", "load": "loading the model", "inspect": "running the forward pass",
            "export": "exporting the model's graph"}.get(self.stage, "finishing")
        return {"stage": _error_stage(self.stage), "message": f"timed out after {limit:.0f} s while {doing}", "traceback": ""}

    def _read_events(self) -> None:
        lines = channel.follow(self.job / P.EVENTS, self._offset)
        self._offset += len(lines)
        for line in lines.splitlines():
            try:
                event = json.loads(line)
                self._apply(event if isinstance(event, dict) else {})
            except (ValueError, TypeError, KeyError, channel.BadOutput) as e:
                self.problem = self.problem or f"the worker returned malformed results ({e})"

    def _apply(self, event: dict) -> None:
        stage = event.get("stage")
        if stage not in P.STAGES or P.STAGES.index(stage) < P.STAGES.index(self.stage):
            return  # unknown, or backwards: ignored
        if stage != self.stage:
            self.since = time.monotonic()
        self.stage = stage
        self.done = stage == "done"
        if isinstance(event.get("device"), str):
            self.device, self.torch_version = event["device"][:100], str(event.get("torch", ""))[:40]
        if stage == "train" and self.images and event.get("epoch") == len(self.epochs):  # check runs train nothing
            epoch = len(self.epochs)
            predictions = channel.read_predictions(self.job / P.predictions_file(epoch), self.images)
            loss, first, seconds = (event.get(k) for k in ("train_loss", "first_loss", "seconds"))
            result = EpochOutput(epoch, _number(loss), _number(first), _number(seconds) or 0.0, predictions)
            self.epochs.append(result)
            self.since = time.monotonic()  # each epoch has its own limit
            self.on_epoch(result)


def _number(value) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _read_inspection(job: Path) -> tuple[dict | None, dict[str, np.ndarray]]:
    try:
        inspection = channel.read_json(job / P.INSPECTION)
        return (inspection if isinstance(inspection, dict) else None), channel.load_arrays(job / P.TENSORS)
    except channel.BadOutput:
        return None, {}


def _read_activations(job: Path) -> tuple[list[dict], dict[str, np.ndarray]]:
    """The optional look inside the trained model; anything malformed is simply left out."""
    try:
        described = channel.read_json(job / P.ACTIVATIONS)
        arrays = channel.load_arrays(job / P.FEATURE_MAPS)
        names = [str(name)[:100] for name in described["feature_maps"]][: len(arrays)]
        maps = {name: arrays[f"m{i}"].astype(np.float32) for i, name in enumerate(names)
                if f"m{i}" in arrays and arrays[f"m{i}"].ndim == 3 and arrays[f"m{i}"].dtype.kind == "f"}
        stats = [s for s in described["stats"] if isinstance(s, dict)][:500]
        return stats, maps
    except (channel.BadOutput, KeyError, TypeError):
        return [], {}


def _read_error(job: Path) -> dict | None:
    try:
        error = channel.read_json(job / P.ERROR)
        stage = error.get("stage") if error.get("stage") in ("load", "inspect", "train") else "load"
        return {"stage": stage, "message": str(error.get("message", ""))[:500], "traceback": str(error.get("traceback", ""))[:8000]}
    except (channel.BadOutput, AttributeError):
        return None


def _exit_error(code: int | None, stage: str, done: bool) -> dict | None:
    if code == 0 and done:
        return None
    doing = {"start": "while starting", "load": "while importing or constructing the model", "inspect": "during the forward pass",
             "export": "while exporting the model's graph", "train": "while training"}.get(stage, "")
    if code is not None and code < 0:
        name = signal.Signals(-code).name
        why = {"SIGKILL": "killed (out of memory?)", "SIGXCPU": "stopped: CPU time limit reached", "SIGXFSZ": "stopped: it wrote too much",
               "SIGSEGV": "crashed (segmentation fault)"}.get(name, f"ended by {name}")
        return {"stage": _error_stage(stage), "message": f"the worker was {why} {doing}", "traceback": ""}
    return {"stage": _error_stage(stage), "message": f"the submission ended the process (exit code {code}) {doing}", "traceback": ""}


def _error_stage(stage: str) -> str:
    return {"start": "load", "export": "inspect", "done": "train"}.get(stage, stage)


def _kill_tree(process: subprocess.Popen, job_name: str, conf: confine.Confinement) -> None:
    """Kill the worker's process group, cgroup and own uid's processes (where it has them), then any
    process still carrying its job marker (a setsid() grandchild leaves the group but keeps its
    environment), then reap the worker."""
    marker = f"GRADER_JOB={job_name}".encode()
    for _ in range(3):  # a survivor may be forking while we look
        confine.kill_all(conf, process.pid)
        stragglers = [int(p.name) for p in Path("/proc").glob("[0-9]*") if _environment_has(p, marker)]
        for pid in stragglers:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        if not stragglers:
            break
    process.wait()


def _processes_of_this_user() -> int:
    uid = str(os.getuid())
    count = 0
    for status in Path("/proc").glob("[0-9]*/status"):
        with contextlib.suppress(OSError):
            count += any(line.split()[1:2] == [uid] for line in status.read_text().splitlines() if line.startswith("Uid:"))
    return count


def _environment_has(proc: Path, marker: bytes) -> bool:
    try:
        return marker in (proc / "environ").read_bytes().split(b"\0")
    except OSError:
        return False
