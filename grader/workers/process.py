"""One worker process, in one of its two roles (grader.protocol): the model worker (workers/model.py) or the
trainer (workers/trainer.py).

Started only by `sandbox.runner.run_worker` through the bootstrap, inside the sandbox. It talks to the parent
through files in its job folder (grader.protocol), never pipes or pickle: its stages as event lines, and a
failure as the error file with the student's own traceback.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from pathlib import Path

import msgspec

from grader import protocol as P


def main(job_dir: str) -> None:
    job = Path(job_dir)
    request = json.loads((job / P.REQUEST).read_text())
    events = open(job / P.EVENTS, "a", buffering=1)

    def enter(stage: str, **extra) -> None:
        events.write(msgspec.json.encode({"stage": stage, **extra}).decode() + "\n")
        events.flush()

    state = {"stage": "load", "importer": None}
    try:
        enter("start")  # the grader's own start (torch import) is not timed against the submission
        import torch

        from grader import numerics, train
        from grader.workers import model, trainer

        numerics.pin_torch(torch, request[P.THREADS])
        device = train.resolve_device(request[P.DEVICE])
        enter("load" if request[P.ROLE] == P.MODEL else "train", device=train.describe_device(device), torch=str(torch.__version__))
        if request[P.ROLE] == P.TRAINER:
            state["stage"] = "train"
            trainer.run(job, request, device, enter)
        else:
            model.run(job, request, device, enter, state)
        enter("done")
    except BaseException as e:  # SystemExit and KeyboardInterrupt from student code too
        skipped = state["importer"].skipped if state["importer"] else {}
        root = request.get(P.ROOT, str(job))
        message = describe_error(e, root, skipped, request.get(P.LEFT_OUT, []))
        (job / P.ERROR).write_bytes(msgspec.json.encode({"stage": state["stage"], "message": message,
                                                        "traceback": student_traceback(e, root)}))
        _exit(events, 1)
    _exit(events, 0)


def _exit(events, code: int) -> None:
    """Flush what the submission printed, then skip interpreter teardown: student atexit handlers
    and __del__ methods do not run."""
    events.close()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # a submission may have replaced or closed the stream
            pass
    os._exit(code)


def describe_error(e: BaseException, root: str, skipped: dict[str, str], left_out: list[str]) -> str:
    """One line a student understands: what went wrong and where in their files."""
    from grader.inspect.trace import ForwardError, OutputShapeError
    from grader.load.importer import MissingPackage
    from grader.load.source import LoadError
    from grader.workers.model import ConstructError, TamperError

    if isinstance(e, SyntaxError):
        return f"syntax error in {_shown(e.filename or '', root)}, line {e.lineno}: {e.msg}"
    if isinstance(e, SystemExit):
        return f"the submission called exit() / sys.exit({e.code!r}){_location(e, root)}; a model file must not end the program"
    if isinstance(e, KeyboardInterrupt):
        return f"the submission raised KeyboardInterrupt{_location(e, root)}"
    if isinstance(e, MemoryError):
        return f"ran out of memory{_location(e, root)}: the grader's memory limit was reached"
    if isinstance(e, (ForwardError, OutputShapeError, ConstructError, LoadError, TamperError, MissingPackage)):
        return str(e)
    if isinstance(e, ImportError):
        return f"import failed{_location(e, root)}: {e}"
    text = str(e).strip().splitlines()[0] if str(e).strip() else ""
    cause = e.__cause__ or e
    if isinstance(cause, NameError) and cause.name in skipped:  # defined by a statement the loading rule left out
        text += f" ({cause.name} is defined at {skipped[cause.name]})"
    if isinstance(cause, FileNotFoundError) and Path(str(cause.filename)).name in {Path(f).name for f in left_out}:
        text += (f" ({Path(str(cause.filename)).name} was handed in but left out: data files and checkpoints never reach "
                 f"the model, which must build from its code alone)")
    return f"{type(e).__name__}{_location(e, root)}: {text}".replace(root + os.sep, "")


def _shown(filename: str, root: str) -> str:
    """A file name as the student knows it: relative to their folder (notebook cells are named already)."""
    return os.path.relpath(filename, root) if filename.startswith(root + os.sep) else filename


def _student_frames(e: BaseException, root: str):
    e = e.__cause__ or e  # ForwardError wraps the student's exception
    return [f for f in traceback.extract_tb(e.__traceback__)
            if f.filename.startswith(root + os.sep) or not f.filename.startswith(("/", "<"))]  # notebook cells: "nb.ipynb [cell 3]"


def _location(e: BaseException, root: str) -> str:
    frames = _student_frames(e, root)
    return f" at {_shown(frames[-1].filename, root)}, line {frames[-1].lineno}" if frames else ""


def student_traceback(e: BaseException, root: str, limit: int = 4000) -> str:
    """The traceback without the grader's own frames, trimmed to `limit` characters."""
    frames = _student_frames(e, root)
    root_error = e.__cause__ or e
    lines = traceback.format_list(frames) + traceback.format_exception_only(type(root_error), root_error)
    text = "".join(lines).replace(root + os.sep, "")  # the job folder means nothing to a student
    return text[-limit:]


if __name__ == "__main__":
    main(sys.argv[1])
