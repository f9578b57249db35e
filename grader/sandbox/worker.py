"""The worker, in one of its two roles (grader.protocol): the model worker or the trainer.

Started only by `runner.run_worker` through the bootstrap, inside the sandbox. It talks to the parent
through files in its job folder (grader.protocol), never pipes or pickle. The model worker runs the
submission's code, so everything the parent reads from it is checked there; the trainer runs only
the grader's code, on the exported graph, and never sees the submission's files.
"""

from __future__ import annotations

import inspect as pyinspect
import json
import os
import sys
import traceback
from pathlib import Path

from grader import protocol as P

INSPECT_BATCH = 4  # images in the traced forward pass: small, and > 1 so BatchNorm can train
PROFILE_IMAGES = 256  # evaluation images behind the per-layer activation statistics


def main(job_dir: str) -> None:
    job = Path(job_dir)
    request = json.loads((job / P.REQUEST).read_text())
    events = open(job / P.EVENTS, "a", buffering=1)

    def enter(stage: str, **extra) -> None:
        events.write(json.dumps({"stage": stage, **extra}) + "\n")
        events.flush()

    state = {"stage": "load", "importer": None}
    try:
        enter("start")  # the grader's own start (torch import) is not timed against the submission
        import torch

        from grader import numerics, train

        numerics.pin_torch(torch)
        device = train.resolve_device(request[P.DEVICE])
        enter("load" if request[P.ROLE] == P.MODEL else "train", device=train.describe_device(device), torch=torch.__version__)
        if request[P.ROLE] == P.TRAINER:
            state["stage"] = "train"
            _train_graph(job, request, device, enter)
        else:
            _model(job, request, device, enter, state)
        enter("done")
    except BaseException as e:  # SystemExit and KeyboardInterrupt from student code too
        skipped = state["importer"].skipped if state["importer"] else {}
        root = request.get(P.ROOT, str(job))
        message = describe_error(e, root, skipped, request.get(P.LEFT_OUT, []))
        (job / P.ERROR).write_text(json.dumps({"stage": state["stage"], "message": message,
                                                "traceback": student_traceback(e, root)}))
        _exit(events, 1)
    _exit(events, 0)


def _model(job: Path, request: dict, device, enter, state: dict) -> None:
    """The untrusted part: load, build, trace, export; train the model itself only when the export failed."""
    import numpy as np
    import torch

    from grader.graph.export import ExportFailed, export_graph
    from grader.graph.format import ALLOWED_OPS
    from grader.inspect import trace as inspect
    from grader.load import importer as load
    from grader.rubric import recipe_from_dict

    recipe = recipe_from_dict(request[P.RECIPE])
    untouched = _snapshot()
    cls, state["importer"] = load.import_model_class(request[P.ROOT], request[P.FILE], request[P.MODEL_CLASS])
    torch.manual_seed(recipe.seed)
    model = _construct(cls)

    state["stage"] = "inspect"
    enter("inspect", model_class=cls.__name__)
    batch = torch.randn(INSPECT_BATCH, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    description, tensors = inspect.trace_model(model, batch)
    _check_untouched(untouched)
    description["model_class"] = cls.__name__
    description["notes"] = state["importer"].notes + description["notes"]
    description["summary"] = _summary(model)
    description["tensors"] = [{**entry, "key": f"t{i}"} for i, (entry, _) in enumerate(tensors)]
    np.savez(job / P.TENSORS, **{f"t{i}": t.detach().cpu().float().numpy() for i, (_, t) in enumerate(tensors)})
    (job / P.INSPECTION).write_text(json.dumps(description))

    enter("export")
    try:
        graph, arrays = export_graph(model, batch)
        refused = sorted({n["target"] for n in graph["nodes"]} - ALLOWED_OPS)
        if refused:
            raise ExportFailed(f"the graph uses operations the trainer does not run: {', '.join(refused)[:200]}")
        np.savez(job / P.GRAPH_TENSORS, **arrays)
        (job / P.GRAPH_FILE).write_text(json.dumps(graph))
    except ExportFailed as e:
        (job / P.GRAPH_FILE).write_text(json.dumps({"failed": str(e)}))
        if request[P.MODE] == P.GRADE:  # the fallback: the submission's own code trains, flagged untrusted_training
            state["stage"] = "train"
            _train(job, model, recipe, request, device, enter)
            _check_untouched(untouched)
            from grader.inspect.trace import activation_profile
            _profile(job, *activation_profile(model, _profile_images(job, device)))


def _train_graph(job: Path, request: dict, device, enter) -> None:
    """The trusted part: the exported graph, trained and evaluated by the grader's own code alone."""
    import numpy as np

    from grader.graph import build
    from grader.rubric import recipe_from_dict
    from grader.sandbox import channel

    graph = json.loads((job / P.GRAPH_FILE).read_text())
    arrays = channel.load_arrays(job / P.GRAPH_TENSORS)
    model = build.GraphModel(graph, arrays).to(device)
    recipe = recipe_from_dict(request[P.RECIPE])
    if request[P.MODE] == P.CHECK:  # no data in a check: random digits show a feature multiplied by zero just as well
        generator = np.random.default_rng(0)
        images, labels = generator.integers(0, 256, (recipe.batch_size, 28, 28), np.uint8), generator.integers(0, 10, recipe.batch_size)
    else:
        images, labels = (np.load(job / P.DATA / f"{k}.npy", allow_pickle=False)[: recipe.batch_size] for k in ("train_images", "train_labels"))
    probe = build.feature_gradients(graph, model, images, labels, request[P.FEATURES], device)
    (job / P.PROBE).write_text(json.dumps({P.FEATURES: probe}))
    if request[P.MODE] == P.CHECK:
        return
    _train(job, model, recipe, request, device, enter)
    _profile(job, *build.activation_profile(graph, model, _profile_images(job, device)))


def _train(job: Path, model, recipe, request: dict, device, enter) -> None:
    import numpy as np
    import torch

    from grader import train

    enter("train", epoch=0)
    arrays = {k: np.load(job / P.DATA / f"{k}.npy", allow_pickle=False) for k in P.DATA_FILES}
    torch.manual_seed(recipe.seed)  # dropout draws from the global generator: same start for every run

    def report(result) -> None:
        np.save(job / P.predictions_file(result.epoch), result.predictions)
        enter("train", epoch=result.epoch, train_loss=result.train_loss, first_loss=result.first_loss, seconds=result.seconds)

    train.train(model, arrays["train_images"], arrays["train_labels"], arrays["eval_images"], recipe, request[P.EPOCHS], device, report)


def _profile_images(job: Path, device):
    """The first evaluation images, normalized: the sample digit of the report is the first."""
    import numpy as np
    import torch

    from grader import train

    images = np.load(job / P.DATA / "eval_images.npy", allow_pickle=False)[:PROFILE_IMAGES]
    return train.normalize(torch.from_numpy(images)).to(device)


def _profile(job: Path, stats: list[dict], maps: dict) -> None:
    """A look inside the trained model, for the report: per-layer statistics and each conv layer's maps."""
    import numpy as np

    np.savez(job / P.FEATURE_MAPS, **{f"m{i}": m.numpy().astype(np.float16) for i, m in enumerate(maps.values())})
    (job / P.ACTIVATIONS).write_text(json.dumps({"stats": stats, "feature_maps": list(maps)}))


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


def _construct(cls):
    signature = pyinspect.signature(cls.__init__)
    required = [
        name for name, p in list(signature.parameters.items())[1:]
        if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    ]
    if required:
        raise ConstructError(f"{cls.__name__}() needs the argument(s) {', '.join(required)}; the grader builds the model "
                             f"as {cls.__name__}() with no arguments, so give each a default value")
    return cls()


class ConstructError(Exception):
    """The model class cannot be constructed with no arguments."""


class TamperError(Exception):
    """The submission replaced functions the worker uses to report its results."""


def _guarded() -> dict:
    """What the worker reports its results with: a submission has no business replacing any of it."""
    import builtins
    import pathlib

    import numpy as np

    from grader import train
    from grader.inspect import trace

    return {"open": (builtins, "open"), "json.dumps": (json, "dumps"), "numpy.save": (np, "save"), "numpy.savez": (np, "savez"),
            "Path.write_text": (pathlib.Path, "write_text"), "trace_model": (trace, "trace_model"),
            "collect_tensors": (trace, "_collect_tensors"), "train": (train, "train")}


def _snapshot() -> dict:
    return {name: getattr(owner, attr) for name, (owner, attr) in _guarded().items()}


def _check_untouched(snapshot: dict) -> None:
    """Defense in depth, not a guarantee: the grade's numbers are computed in the parent, and bubblewrap
    keeps the worker from anything else."""
    changed = [name for name, (owner, attr) in _guarded().items() if getattr(owner, attr) is not snapshot[name]]
    if changed:
        raise TamperError(f"the submission replaced the grader's own functions ({', '.join(changed)}); it cannot be graded")


def _summary(model) -> str:
    """torchinfo's layer summary; advisory, so a failure here only says why."""
    try:
        import torchinfo

        return str(torchinfo.summary(model, input_size=(2, 1, 28, 28), verbose=0, device="cpu",
                                     col_names=("output_size", "num_params"), mode="eval"))
    except Exception as e:
        return f"(torchinfo could not summarize this model: {type(e).__name__}: {e})"


def describe_error(e: BaseException, root: str, skipped: dict[str, str], left_out: list[str]) -> str:
    """One line a student understands: what went wrong and where in their files."""
    from grader.inspect.trace import ForwardError, OutputShapeError
    from grader.load.importer import MissingPackage
    from grader.load.source import LoadError

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
