"""Where a batch's grades run: a local pool over this machine's GPUs or CPU cores, or a Ray cluster.

Both run `grade_job` for each submission and hand back plain data (the JSON report and the
HTML page), so the driver's gradebook and exports do not care where a grade ran.
"""

from __future__ import annotations

import queue
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, replace
from pathlib import Path

from grader import api
from grader import protocol as P
from grader.data import MnistSplit
from grader.errors import SubmissionNotFound, UsageError
from grader.report import json as json_report
from grader.results import Grade
from grader.rubric import Rubric, load_rubric


@dataclass(frozen=True)
class Job:
    student: str
    path: str
    epochs: int | None  # None: the rubric's
    train_limit: int | None
    isolation: str = "auto"
    earlier: Grade | None = None  # the class's first pass: this borderline grade's runs so far; only its pending seeds run
    cores: int = 1  # its pending seeds side by side (the second pass shares out the workers its few jobs leave idle)


def grade_job(job: Job, rubric: Rubric, split: MnistSplit | None, device: str) -> tuple[dict, str, Grade]:
    """Grade one submission exactly as `grader grade` would, but a borderline grade's extra seeds only when the job
    says `earlier` (the second pass). api grades the submission's faults and the grader's own bugs; another usage
    error (strict isolation without bubblewrap, say) is the whole batch's, and stops it."""
    try:
        grade = api.grade(job.path, rubric, epochs=job.epochs, train_limit=job.train_limit, device=device, split=split,
                          isolation=job.isolation, defer_borderline=job.earlier is None, earlier=job.earlier, cores=job.cores)
    except SubmissionNotFound as e:  # this student's folder holds nothing to grade: their error, and the batch moves on
        grade = api.failed_grade(job.path, rubric, P.GRADE, str(e))
    report = {**json_report.to_dict(grade), "student": job.student}
    return report, _html(grade), grade


def _html(grade) -> str:
    from grader.report import html

    return html.render(grade)


def run_local(jobs: list[Job], rubric: Rubric, split: MnistSplit | None, devices: list[str],
              on_start: Callable[[Job], None], on_done: Callable[[Job, dict, str, Grade], None]) -> None:
    """One thread per slot; each grade runs in its own worker process on its slot's device."""
    slots: queue.Queue[str] = queue.Queue()
    for device in devices:
        slots.put(device)

    def task(job: Job) -> tuple[dict, str, Grade]:
        device = slots.get()
        try:
            on_start(job)
            return grade_job(job, rubric, split, device)
        finally:
            slots.put(device)

    with ThreadPoolExecutor(max_workers=len(devices)) as pool:
        futures = {pool.submit(task, job): job for job in jobs}
        try:
            for future in as_completed(futures):
                on_done(futures[future], *future.result())
        finally:  # stopped (SIGTERM, Ctrl-C), or a usage error: no grade starts any more, the running ones end
            for future in futures:
                future.cancel()


def run_ray(jobs: list[Job], rubric: Rubric, address: str | None, gpu_fraction: float,
            on_start: Callable[[Job], None], on_done: Callable[[Job, dict, str, Grade], None]) -> None:
    """Each submission is a Ray task (with a fractional GPU where the cluster has GPUs); the driver keeps the gradebook."""
    try:
        import ray
    except ImportError:
        raise UsageError("--executor ray needs Ray: pip install '.[ray]'") from None
    ray.init(address=address, ignore_reinit_error=True, include_dashboard=False, log_to_driver=False)
    has_gpu = ray.cluster_resources().get("GPU", 0) > 0
    remote = ray.remote(num_cpus=1, num_gpus=gpu_fraction if has_gpu else 0)(_ray_task)
    rubric_bytes = Path(rubric.path).read_bytes()
    refs = {}
    for job in jobs:
        on_start(job)
        task = remote.options(num_cpus=job.cores)  # one thread a run; a second-pass job trains its seeds side by side
        refs[task.remote(job, _pack(Path(job.path)), rubric_bytes, "auto" if has_gpu else "cpu")] = job
    pending = list(refs)
    while pending:
        done, pending = ray.wait(pending, num_returns=1)
        for ref in done:
            on_done(refs[ref], *ray.get(ref))


def _pack(path: Path) -> dict[str, bytes]:
    """A submission's files by relative path, to travel to a cluster node."""
    if path.is_file():
        return {path.name: path.read_bytes()}
    return {str(f.relative_to(path.parent)): f.read_bytes() for f in path.rglob("*") if f.is_file() and "__pycache__" not in f.parts}


def _ray_task(job: Job, files: dict[str, bytes], rubric_bytes: bytes, device: str) -> tuple[dict, str, Grade]:
    """Runs on a cluster node: unpack, find the data there ($MNIST_DIR or the cache), grade."""
    with tempfile.TemporaryDirectory(prefix="grader-ray-") as folder:
        root = Path(folder)
        for name, content in files.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_bytes(content)
        (root / "rubric.toml").write_bytes(rubric_bytes)
        local = replace(job, path=str(root / Path(job.path).name))
        return grade_job(local, load_rubric(root / "rubric.toml"), None, device)  # the driver puts its own paths back
