"""The untrusted model worker: load the submission, build the model, trace one forward pass, export its graph.

It runs the student's code, so nothing it writes is believed: the parent reads every file through
grader.boundary. Only when the export fails does it train the model itself (flagged untrusted_training).
"""

from __future__ import annotations

import inspect as pyinspect
from pathlib import Path

from grader import protocol as P
from grader.workers import trainer

INSPECT_BATCH = 4  # images in the traced forward pass: small, and > 1 so BatchNorm can train


def run(job: Path, request: dict, device, enter, state: dict) -> None:
    """The untrusted part: load, build, trace, export; train the model itself only when the export failed."""
    import torch

    from grader.load import importer as load
    from grader.rubric import recipe_from_dict

    recipe = recipe_from_dict(request[P.RECIPE])
    if request[P.MODE] == P.TRACE:
        return _trace_versions(job, request, recipe.seed, enter)
    untouched = _snapshot()
    cls, module, state["importer"] = load.import_model_class(request[P.ROOT], request[P.FILE], request[P.MODEL_CLASS])
    args, kwargs = _arguments(request.get(P.MODEL_ARGUMENTS) or {}, module, request[P.FILE], state["importer"].skipped)
    torch.manual_seed(recipe.seed)
    model = _construct(cls, args, kwargs)

    state["stage"] = "inspect"
    enter("inspect", model_class=cls.__name__)
    traced = trace(model, cls.__name__, state["importer"].notes)
    _check_untouched(untouched)
    write_trace(job, *traced)

    enter("export")
    if not write_export(job, model):
        if request[P.MODE] == P.GRADE:  # the fallback: the submission's own code trains, flagged untrusted_training
            state["stage"] = "train"
            trainer.train_and_report(job, model, recipe, request, device, enter)
            _check_untouched(untouched)
            from grader.inspect.trace import activation_profile
            trainer.write_profile(job, *activation_profile(model, trainer.profile_images(job, device)))


def inspect_batch():
    """The images of the traced forward pass and of the export: the same for every model, whoever builds it."""
    import torch

    return torch.randn(INSPECT_BATCH, 1, 28, 28, generator=torch.Generator().manual_seed(0))


def trace(model, model_class: str, notes: list[str]) -> tuple[dict, list]:
    """One training-mode forward pass of the built model, traced: (the description, its tensors), for write_trace. Also
    what a notebook self-check (grader.notebook) runs on the student's own object, in the student's own session."""
    from grader.inspect import trace as inspect

    description, tensors = inspect.trace_model(model, inspect_batch())
    description.update(model_class=model_class, notes=list(notes) + description["notes"], summary=_summary(model))
    return description, tensors


def write_trace(job: Path, description: dict, tensors: list) -> None:
    """The trace as the parent reads it (grader.protocol.INSPECTION and TENSORS)."""
    _write_trace(job, (P.INSPECTION, P.TENSORS), description, tensors)


def write_export(job: Path, model) -> bool:
    """Export the training-mode graph and write it as the parent reads it (grader.protocol.GRAPH_FILE and GRAPH_TENSORS);
    False when it cannot be exported (GRAPH_FILE then says why). Shared with the notebook self-check, as trace is."""
    import msgspec
    from safetensors.numpy import save_file

    from grader.graph.export import ExportFailed, export_graph
    from grader.graph.format import ALLOWED_OPS

    try:
        graph, arrays = export_graph(model, inspect_batch())
        refused = sorted({n["target"] for n in graph["nodes"]} - ALLOWED_OPS)
        if refused:
            raise ExportFailed(f"the graph uses operations the trainer does not run: {', '.join(refused)[:200]}")
        save_file(arrays, job / P.GRAPH_TENSORS)
        (job / P.GRAPH_FILE).write_bytes(msgspec.json.encode(graph))
        return True
    except ExportFailed as e:
        (job / P.GRAPH_FILE).write_bytes(msgspec.json.encode({"failed": str(e)}))
        return False


def _trace_versions(job: Path, request: dict, seed: int, enter) -> None:
    """Trace mode (grader.tiebreak): build and trace each tied version, one after the other in this process, and write
    each one's trace; one that fails to load, build or trace is left out, and the next is tried."""
    import os

    import torch

    from grader.inspect import trace as inspect
    from grader.load import importer as load

    enter("inspect")
    for index, version in enumerate(request[P.VERSIONS]):
        try:
            os.chdir((Path(request[P.ROOT]) / version[P.FILE]).parent)  # where the student ran it
            cls, module, importer = load.import_model_class(request[P.ROOT], version[P.FILE], version[P.MODEL_CLASS])
            args, kwargs = _arguments(version.get(P.MODEL_ARGUMENTS) or {}, module, version[P.FILE], importer.skipped)
            torch.manual_seed(seed)
            description, tensors = inspect.trace_model(_construct(cls, args, kwargs), inspect_batch())
        except (Exception, SystemExit):  # noqa: BLE001  (this version cannot be graded: the others still can)
            continue
        description.update(model_class=cls.__name__, summary="")
        _write_trace(job, P.trace_files(index), description, tensors)


def _write_trace(job: Path, files: tuple[str, str], description: dict, tensors: list) -> None:
    """The trace as JSON (its manifest names each tensor's key) and its tensors as safetensors (grader.protocol.Trace)."""
    import msgspec
    from safetensors.numpy import save_file

    description["tensors"] = [{**entry, "key": f"t{i}"} for i, (entry, _) in enumerate(tensors)]
    save_file({f"t{i}": t.detach().cpu().float().numpy() for i, (_, t) in enumerate(tensors)}, job / files[1])
    (job / files[0]).write_bytes(msgspec.json.encode(description))


def _arguments(request: dict, module, file: str, skipped: dict[str, str]) -> tuple[list, dict]:
    """The arguments the parent copied from the student's call: literals, and constants of the model's own module."""
    import ast

    def value(argument: dict):
        if "constant" in argument:
            name = argument["constant"]
            if name not in module.__dict__:
                why = skipped.get(name, "")
                raise ConstructError(f"the model is built with {name}, which {file} does not define"
                                     + (f" ({why})" if why else ""))
            return module.__dict__[name]
        return ast.literal_eval(argument["literal"])

    return [value(a) for a in request.get("args", [])], {k: value(a) for k, a in request.get("kwargs", {}).items()}


def _construct(cls, args: list, kwargs: dict):
    """cls(*args, **kwargs), the arguments the student's call passes (none without one)."""
    signature = pyinspect.signature(cls.__init__)
    if not args and not kwargs:
        required = [
            name for name, p in list(signature.parameters.items())[1:]
            if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        ]
        if required:
            raise ConstructError(f"{cls.__name__}() needs the argument(s) {', '.join(required)}; the grader builds the model "
                                 f"as {cls.__name__}() with no arguments when no call in the submission builds it with "
                                 f"literal arguments, so give each a default value")
    else:
        try:
            signature.bind(None, *args, **kwargs)
        except TypeError as e:
            raise ConstructError(f"{cls.__name__} cannot be built with the arguments copied from the submission's own call: {e}") from None
    return cls(*args, **kwargs)


class ConstructError(Exception):
    """The model class cannot be constructed with no arguments."""


class TamperError(Exception):
    """The submission replaced functions the worker uses to report its results."""


def _guarded() -> dict:
    """What the worker reports its results with: a submission has no business replacing any of it."""
    import builtins
    import pathlib

    import msgspec
    import safetensors.numpy

    from grader import train
    from grader.inspect import trace

    return {"open": (builtins, "open"), "msgspec.json.encode": (msgspec.json, "encode"),
            "safetensors.numpy.save_file": (safetensors.numpy, "save_file"),
            "Path.write_bytes": (pathlib.Path, "write_bytes"), "trace_model": (trace, "trace_model"),
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


