"""The parent side of the trust boundary: start a worker, watch its time, read back plain data.

The worker is a fresh `python -I` process started from a fixed bootstrap, in its own session,
in a temporary job folder, with an allow-listed environment, rlimits, stdin closed and its
output going to files. What it leaves behind is read only through grader.boundary, into typed
data; a file that is not what it must be raises BadWorkerData (after the worker is gone), for
grader.api to grade.
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
import safetensors.numpy

from grader import boundary, numerics
from grader import protocol as P
from grader.boundary import BadWorkerData
from grader.errors import Stopped
from grader.graph import format as fmt
from grader.load import Submission
from grader.results import StageError
from grader.rubric import Limits
from grader.sandbox import confine, isolation

POLL_SECONDS = 0.05
DISK_CHECK_SECONDS = 0.2  # how often the job folder's size is measured: a disk filler overshoots by what it writes meanwhile
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
from grader.workers.process import main
main(sys.argv[1])
"""


@dataclass(frozen=True)
class EpochOutput:
    epoch: int  # 0: before training
    train_loss: float | None
    first_loss: float | None  # epoch 1: the loss of the first batch, before any optimizer step
    seconds: float  # training time since the start of epoch 1
    predictions: np.ndarray  # (M,) int64, checked
    copy_predictions: np.ndarray | None = None  # (C,) int64, checked: after the last epoch only


@dataclass(frozen=True)
class WorkerRun:
    trace: P.Trace | None  # the model worker's trace
    tensors: dict[str, np.ndarray]  # every tensor the trace's manifest names, for counting
    epochs: tuple[EpochOutput, ...]
    error: StageError | None  # what the worker reported, or how it ended (timeout, exit code, signal)
    device: str
    torch_version: str
    isolation: str
    output: str  # the tail of what the submission printed
    seconds: float
    activations: tuple[P.LayerStat, ...]  # per-layer statistics after training
    feature_maps: dict[str, np.ndarray]  # conv layer name -> (C, H, W) for the sample digit
    graph: fmt.Graph | None = None  # the model worker's exported graph, bound to torch's schemas
    export_failure: str = ""  # why the export failed, when it did
    probe: dict[str, float] | None = None  # the trainer's measurement: feature -> its effect on the logits
    traces: tuple[tuple[P.Trace, dict[str, np.ndarray]] | None, ...] = ()  # trace mode: each tied version's, None if it failed


@dataclass(frozen=True)
class TrainerInput:
    """What the trainer gets: the typed graph, the nodes (positions) behind each feature for its effect measurement,
    and the normalization statistics to reset before training (input position -> value)."""

    graph: fmt.Graph
    features: dict[str, tuple[int, ...]]
    resets: dict[int, float]


@dataclass(frozen=True)
class TrainingData:
    """What the worker may see: training images with labels, evaluation images and their perturbed copies without."""

    train_images: np.ndarray
    train_labels: np.ndarray
    eval_images: np.ndarray
    copy_images: np.ndarray


def run_worker(
    submission: Submission | TrainerInput,
    request: dict,
    limits: Limits,
    data: TrainingData | None = None,
    on_epoch: Callable[[EpochOutput], None] = lambda e: None,
    isolation_mode: str = "auto",
) -> WorkerRun:
    """Run a worker to the end, a timeout, or a crash: the model worker on a Submission's files, or the trainer on a
    TrainerInput (it never sees the files). A worker's failure is the run's `error`; a file it left that is not
    what it must be raises BadWorkerData once the worker and its processes are gone (and IsolationUnavailable
    when strict isolation was asked for and cannot be had)."""
    applied = isolation.resolve(isolation_mode)
    _remove_abandoned_jobs()
    job = Path(tempfile.mkdtemp(prefix=confine.JOB_PREFIX))
    try:
        with open(job / confine.JOB_LOCK, "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # held while this grader lives; its death, SIGKILL included, frees it
            return _run(job, submission, request, limits, data, on_epoch, applied)
    finally:
        shutil.rmtree(job, ignore_errors=True)


def _remove_abandoned_jobs() -> None:
    """Delete the job folders of graders that were killed before they could (tens of MB of data each):
    their lock is free. A folder younger than a minute may be one whose grader has not locked it yet."""
    for job in Path(tempfile.gettempdir()).glob(confine.JOB_PREFIX + "*"):
        try:
            if time.time() - job.stat().st_mtime < 60:
                continue
            with open(job / confine.JOB_LOCK) as lock:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                shutil.rmtree(job, ignore_errors=True)
        except FileNotFoundError:  # its grader died between creating the folder and locking it
            shutil.rmtree(job, ignore_errors=True)
        except OSError:  # in use, or another user's
            continue


def _run(job, work: Submission | TrainerInput, request, limits, data, on_epoch, applied: str) -> WorkerRun:
    for folder in (job / P.OUT, job / "home", job / "tmp", job / P.DATA):
        folder.mkdir()
    trainer = isinstance(work, TrainerInput)
    request = {**request, P.ROLE: P.TRAINER if trainer else P.MODEL}
    if trainer:  # the typed graph the parent checked, never the model worker's file
        safetensors.numpy.save_file(work.graph.arrays, job / P.TYPED_GRAPH_TENSORS)
        (job / P.TYPED_GRAPH).write_text(fmt.encode(work.graph))
        request[P.FEATURES] = {k: list(v) for k, v in work.features.items()}
        request[P.RESETS] = {str(k): v for k, v in work.resets.items()}
        workdir = job
    else:
        root = job / P.SUBMISSION
        _copy_submission(work, root)
        request[P.ROOT] = str(root)
        workdir = (root / request[P.FILE]).parent if P.FILE in request else root  # where the student ran it (trace mode: each version's own)
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
    cpu_seconds = int((limits.load_seconds + 2 * limits.inspect_seconds + (epochs_at_most + 1) * limits.epoch_seconds) * request[P.THREADS]) + 60
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
           **numerics.worker_environment(request[P.THREADS]), "MPLBACKEND": "Agg",
           "GRADER_JOB": job.name}  # inherited by every descendant: how the kill finds those that left the group
    if "CUDA_VISIBLE_DEVICES" in os.environ:
        env["CUDA_VISIBLE_DEVICES"] = os.environ["CUDA_VISIBLE_DEVICES"]
    lifeline, grader_end = os.pipe()  # the worker dies when it reads EOF here: the grader is gone, however it went
    command = isolation.wrap([sys.executable, "-I", "-c", BOOTSTRAP, str(job), json.dumps(rlimits),
                              str(int(limits.output_mb * (1 << 20))), str(isolation.PACKAGE_ROOT), str(lifeline)],
                             job, workdir, applied, int(limits.disk_mb * (1 << 20)))
    command = confine.launch_command(command, conf)

    started = time.monotonic()
    images = (len(data.eval_images), len(data.copy_images)) if data is not None else (0, 0)
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
        printed = boundary.tail(output)
    if watch.bad is not None:
        raise watch.bad
    if request[P.MODE] == P.TRACE:
        return _read_traces(job, len(request[P.VERSIONS]), watch, timeout, applied, printed, time.monotonic() - started)
    return _read_outputs(job, trainer, grading, watch, timeout, process.returncode, applied, printed, time.monotonic() - started)


def _read_outputs(job: Path, trainer: bool, grading: bool, watch: _Watch, timeout: StageError | None, code: int | None,
                  applied: str, printed: str, seconds: float) -> WorkerRun:
    """What the finished worker left: its error, or what it must have written by the stage it reached."""
    written = boundary.read_error(job)
    error = timeout or (StageError(written.stage, written.message, written.traceback) if written else None) \
        or _exit_error(code, watch.stage, watch.done)
    inspected = not trainer and watch.stage not in ("start", "load")
    if error is not None:  # the worker's failure is the grade; its trace, when readable, still shows the model
        trace, tensors = _optional(boundary.read_inspection, job, (None, {})) if inspected else (None, {})
        return WorkerRun(trace, tensors, tuple(watch.epochs), error, watch.device, watch.torch_version, applied, printed, seconds, (), {})
    graph, export_failure = boundary.read_graph(job) if inspected else (None, "")
    trace, tensors = boundary.read_inspection(job) if inspected else (None, {})
    trains_here = grading and (trainer or graph is None)
    if trains_here and len(watch.epochs) != watch.epochs_expected:
        error = StageError(P.TRAIN, "the worker stopped before training finished", "")
    activations, feature_maps = _optional(boundary.read_activations, job, ((), {})) if error is None and trains_here else ((), {})
    probe = boundary.read_probe(job) if trainer else None
    return WorkerRun(trace, tensors, tuple(watch.epochs), error, watch.device, watch.torch_version, applied, printed,
                     seconds, activations, feature_maps, graph, export_failure, probe)


def _read_traces(job: Path, versions: int, watch: _Watch, timeout: StageError | None, applied: str, printed: str,
                 seconds: float) -> WorkerRun:
    """Trace mode: each tied version's trace, as far as the worker got; one it could not build or trace is None."""
    traces = tuple(_optional(lambda j, i=i: boundary.read_inspection(j, P.trace_files(i)), job, None)
                   if (job / P.trace_files(i)[0]).exists() else None for i in range(versions))
    return WorkerRun(None, {}, (), timeout, watch.device, watch.torch_version, applied, printed, seconds, (), {}, traces=traces)


def _optional(read, job: Path, otherwise):
    """What only the report shows (the look inside the trained model; the trace of a model that failed):
    anything malformed is simply left out."""
    try:
        return read(job)
    except BadWorkerData:
        return otherwise


def _copy_submission(submission: Submission, target: Path) -> None:
    """The files the submission hands in (grader.load.folder chose them), and nothing else."""
    for rel in submission.files:
        (target / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(Path(submission.root) / rel, target / rel)


class _Watch:
    """Follows the worker's event file, enforces each stage's wall-clock limit, collects epochs.

    Stages only move forward and each epoch is counted once, so replaying events cannot reset a
    timer; an overall deadline (the sum of every stage's limit) caps the run whatever it writes.
    An event or predictions file that is not what it must be stops the watch (`bad`).
    """

    def __init__(self, job: Path, limits: Limits, on_epoch, images: tuple[int, int], epochs: int,
                 on_deadline: Callable[[float], None] = lambda t: None, disk_check: Callable[[], str] = lambda: ""):
        self.job, self.limits, self.on_epoch, self.images = job, limits, on_epoch, images
        self.on_deadline, self.disk_check, self._disk_checked = on_deadline, disk_check, 0.0
        self.stage, self.since, self.done = "start", time.monotonic(), False
        self.deadline = (self.since + STARTUP_SECONDS + limits.load_seconds + 2 * limits.inspect_seconds  # inspect, export
                         + (epochs + 1) * limits.epoch_seconds)
        self.epochs: list[EpochOutput] = []
        self.epochs_expected = epochs + 1  # epoch 0, the untrained model, then each epoch trained
        self.device = self.torch_version = ""
        self.bad: BadWorkerData | None = None
        self._offset = 0

    def follow(self, process: subprocess.Popen) -> StageError | None:
        """Watch until the worker ends (None), or a limit ends it (the error), or it writes something bad (None; see `bad`)."""
        while process.poll() is None:
            if STOPPING.is_set():  # in any thread: the caller's `finally` kills the worker's tree and frees its cgroup
                raise Stopped
            if not self._read_events():
                return None
            limit = self._limit()
            now = time.monotonic()
            self.on_deadline(min(self.since + limit, self.deadline))  # the watchdog's copy, for a stopped grader
            if now - self.since > limit or now > self.deadline:
                return self._timed_out(limit)
            if now - self._disk_checked > DISK_CHECK_SECONDS:
                self._disk_checked = now
                if problem := self.disk_check():
                    return StageError(_error_stage(self.stage), problem, "")
            time.sleep(POLL_SECONDS)
        if self._read_events() and time.monotonic() > min(self.since + self._limit(), self.deadline):
            return self._timed_out(self._limit())  # the watchdog killed it while we were stopped
        return None

    def _limit(self) -> float:
        return {"start": STARTUP_SECONDS, "load": self.limits.load_seconds, "inspect": self.limits.inspect_seconds,
                "export": self.limits.inspect_seconds, "done": 10.0}.get(self.stage, self.limits.epoch_seconds)  # done: time to exit

    def _timed_out(self, limit: float) -> StageError:
        doing = f"training (epoch {len(self.epochs)})" if self.stage == "train" else {
            "start": "starting the worker", "load": "loading the model", "inspect": "running the forward pass",
            "export": "exporting the model's graph"}.get(self.stage, "finishing")
        return StageError(_error_stage(self.stage), f"timed out after {limit:.0f} s while {doing}", "")

    def _read_events(self) -> bool:
        """Apply the new events; False when one of them (or its predictions) is bad."""
        try:
            events, self._offset = boundary.read_events(self.job / P.EVENTS, self._offset, _error_stage(self.stage))
            for event in events:
                self._apply(event)
        except BadWorkerData as e:
            self.bad = e
            return False
        return True

    def _apply(self, event: P.Event) -> None:
        stage = event.stage
        if stage not in P.STAGES or P.STAGES.index(stage) < P.STAGES.index(self.stage):
            return  # unknown, or backwards: ignored
        if stage != self.stage:
            self.since = time.monotonic()
        self.stage = stage
        self.done = stage == "done"
        if event.device is not None:
            self.device, self.torch_version = event.device[:100], (event.torch or "")[:40]
        if stage == "train" and self.images[0] and event.epoch == len(self.epochs):  # check runs train nothing
            epoch = len(self.epochs)
            images, copies = self.images
            predictions, copy_predictions = boundary.read_predictions(self.job / P.predictions_file(epoch), images,
                                                                      copies if epoch == self.epochs_expected - 1 else 0)
            result = EpochOutput(epoch, event.train_loss, event.first_loss, event.seconds or 0.0, predictions, copy_predictions)
            self.epochs.append(result)
            self.since = time.monotonic()  # each epoch has its own limit
            self.on_epoch(result)


def _exit_error(code: int | None, stage: str, done: bool) -> StageError | None:
    if code == 0 and done:
        return None
    doing = {"start": "while starting", "load": "while importing or constructing the model", "inspect": "during the forward pass",
             "export": "while exporting the model's graph", "train": "while training"}.get(stage, "")
    if code is not None and code < 0:
        name = signal.Signals(-code).name
        why = {"SIGKILL": "killed (out of memory?)", "SIGXCPU": "stopped: CPU time limit reached", "SIGXFSZ": "stopped: it wrote too much",
               "SIGSEGV": "crashed (segmentation fault)"}.get(name, f"ended by {name}")
        return StageError(_error_stage(stage), f"the worker was {why} {doing}", "")
    return StageError(_error_stage(stage), f"the submission ended the process (exit code {code}) {doing}", "")


def _error_stage(stage: str) -> str:
    return {"start": P.LOAD, "export": P.INSPECT, "done": P.TRAIN}.get(stage, stage)


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
