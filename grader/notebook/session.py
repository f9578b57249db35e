"""A model object of the student's own Python session, graded as a submission (grader.api.InSession).

The class, instance or function the student passes is built, traced and exported right there, in their own process:
it is their own code on their own machine, so no sandbox stands between (the instructor's grader runs the same steps
in its untrusted model worker). The same functions the model worker runs (grader.workers.model's trace, write_trace
and write_export) write what it would write into a temporary folder, and grader.boundary reads it back into the same typed
data. From the exported graph on, nothing differs: the parent's inspection and count, the trusted trainer in its
worker, the same evaluation and scoring. The session's own state is left as it was: its random generators, and an
instance's weights, statistics and train/eval modes.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import inspect
import io
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from grader import boundary
from grader import protocol as P
from grader.api import InSession
from grader.errors import UsageError
from grader.results import OBJECT, ModelChoice, StageError
from grader.sandbox.runner import WorkerRun

CLASS, INSTANCE, FUNCTION = "class", "instance", "function"  # what the student passed
OUTPUT_KEPT = 4000  # characters of what the model printed while it was built, traced and exported: the end, as a worker's


@dataclass(frozen=True)
class _Passed:
    """What the student passed, and how each training seed gets its model."""

    kind: str  # CLASS | INSTANCE | FUNCTION
    model_class: type
    build: Callable[[], object] | None  # None: the instance itself
    instance: object | None
    call: str  # how the student names it in a call: "Net", "model", "make_net"


def in_session(obj, command: str) -> InSession:
    """The object as a submission; UsageError, in one line that says what to pass instead, for one the grader cannot take.
    `command`: P.CHECK or P.GRADE, what the student called."""
    passed = _passed(obj, command)
    cls = passed.model_class
    _one_input(cls)
    source = _source_file(cls)
    what = {CLASS: f"the class {cls.__name__}", INSTANCE: f"an instance of {cls.__name__}",
            FUNCTION: f"the function {passed.call}, which builds a {cls.__name__}"}[passed.kind]
    choice = ModelChoice(file=source or "", model_class=cls.__name__, rule=OBJECT, reason=f"{what}, passed to grader.{command}",
                         guessed=False, others=())
    return InSession(path=f"<{passed.kind} {cls.__name__}>", root=os.path.dirname(source or ""), files=(), left_out=(), notes=(),
                     sha256=hashlib.sha256(_source_text(cls).encode()).hexdigest(), choice=choice,
                     model_run=lambda request: _model_run(passed, source, request))


def _passed(obj, command: str) -> _Passed:
    from torch import nn

    if isinstance(obj, type) and issubclass(obj, nn.Module):
        _no_arguments_needed(obj, command)
        return _Passed(CLASS, obj, obj, None, obj.__name__)
    if isinstance(obj, nn.Module):
        name = type(obj).__name__
        if command == P.GRADE:
            raise UsageError(f"grader.grade builds the model afresh for each training seed, as your instructor's grader does, so it "
                             f"takes the class, not a model: grader.grade({name}), or a function that builds it: "
                             f"grader.grade(lambda: {name}(...)) with your arguments")
        _on_cpu(obj, f"pass it on the CPU, grader.check(model.cpu()), or pass the class: grader.check({name})")
        return _Passed(INSTANCE, type(obj), None, obj, "model")
    if callable(obj) and not isinstance(obj, type):
        import torch

        name = getattr(obj, "__name__", "the function")
        with torch.random.fork_rng(devices=[]):
            built = obj()
        if not isinstance(built, nn.Module):
            raise UsageError(f"{name}() returned a {type(built).__name__}, not a torch.nn.Module: pass a function that builds the model")
        return _Passed(FUNCTION, type(built), obj, None, name)
    raise UsageError(f"grader.{command} takes a model class (grader.{command}(Net)), a model (grader.check(Net())), or the path of a "
                     f"file or folder (grader.{command}(\"model.py\")), not an object of type {type(obj).__name__}")


def _no_arguments_needed(cls: type, command: str) -> None:
    required = _required(cls.__init__)
    if required:
        names = ", ".join(required)
        them = "them" if len(required) > 1 else "it"
        instead = (f"pass a model built with {them}: grader.check({cls.__name__}({names}))" if command == P.CHECK else
                   f"pass a function that builds it: grader.grade(lambda: {cls.__name__}({names}))")
        raise UsageError(f"{cls.__name__}() needs the argument{'s' if len(required) > 1 else ''} {names}, and the grader builds the class "
                         f"with none: {instead}, or give {them} a default value")


def _one_input(cls: type) -> None:
    required = _required(cls.forward)
    if len(required) > 1:
        raise UsageError(f"{cls.__name__}.forward needs {len(required)} arguments ({', '.join(required)}), and the grader calls "
                         f"model(images) with one batch of images (N, 1, 28, 28): give the others default values")


def _required(function) -> list[str]:
    """The arguments a call must give `function` (a method: after self)."""
    try:
        parameters = list(inspect.signature(function).parameters.values())[1:]
    except (TypeError, ValueError):  # a builtin's: nothing to say
        return []
    return [p.name for p in parameters
            if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]


def _on_cpu(model, instead: str) -> None:
    import itertools

    devices = sorted({str(t.device) for t in itertools.chain(model.parameters(), model.buffers()) if t.device.type != "cpu"})
    if devices:
        raise UsageError(f"the model is on {', '.join(devices)}: {instead}; the grader trains it on its own device")


def _source_file(cls: type) -> str | None:
    """Where Python says the class is defined (in Jupyter, the cell's file); None when it does not know."""
    for thing in (cls, cls.__dict__.get("forward"), cls.__dict__.get("__init__")):
        if thing is None:
            continue
        with contextlib.suppress(TypeError, OSError):
            if found := inspect.getsourcefile(thing):
                return found
    return None


def _source_text(cls: type) -> str:
    """The class's source, for the submission's hash (the same code: the same secret evaluation perturbation); its methods'
    where Python keeps no class source (a notebook cell's class, before Python 3.13)."""
    with contextlib.suppress(TypeError, OSError):
        return inspect.getsource(cls)
    parts = [cls.__qualname__]
    for _, value in sorted(vars(cls).items(), key=lambda item: item[0]):
        if inspect.isfunction(value):
            with contextlib.suppress(TypeError, OSError):
                parts.append(inspect.getsource(value))
    return "\n".join(parts)


def _model_run(passed: _Passed, source: str | None, request: dict) -> WorkerRun:
    """What the model worker gives for `request` (its seed, its mode): the model built with that seed, traced and exported
    by the worker's own functions, and read back through the trust boundary."""
    import torch

    from grader.workers.model import trace, write_export, write_trace
    from grader.workers.process import describe_error, student_traceback

    started, root, printed = time.monotonic(), os.path.dirname(source or ""), io.StringIO()
    with tempfile.TemporaryDirectory(prefix="grader-session-") as folder:
        job = Path(folder)
        (job / P.OUT).mkdir()
        stage, error = P.LOAD, None
        # What the model and torch print goes to the report's output, as the model worker's does; the session's random
        # state stays where the student left it.
        with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed), torch.random.fork_rng(devices=[]):
            try:
                torch.manual_seed(request[P.RECIPE]["seed"])  # as the model worker builds it
                model = passed.build() if passed.build is not None else passed.instance
                _on_cpu(model, f"build it on the CPU (the grader moves it where it trains), or pass a model: grader.check({passed.call}().cpu())")
                stage = P.INSPECT
                with _left_as_it_was(model):
                    write_trace(job, *trace(model, passed.model_class.__name__, []))
                    write_export(job, model)
            except UsageError:
                raise
            except Exception as e:  # noqa: BLE001  (the student's code failed: a graded error, as in the model worker)
                error = StageError(stage, describe_error(e, root, {}, []), student_traceback(e, root))
        trace, tensors = boundary.read_inspection(job) if (job / P.INSPECTION).exists() else (None, {})
        graph, failure = boundary.read_graph(job) if error is None else (None, "")
    if error is None and failure and request[P.MODE] == P.GRADE:
        error = StageError(P.TRAIN, f"the model could not be exported as a graph ({failure}), and a self-check trains only exported "
                                    f"graphs: make forward exportable, or hand in the file and run `grader grade` on it", "")
    return WorkerRun(trace, tensors, (), error, "cpu", str(torch.__version__), P.NONE, printed.getvalue()[-OUTPUT_KEPT:],
                     time.monotonic() - started, (), {}, graph, failure)


@contextlib.contextmanager
def _left_as_it_was(model):
    """The student's model as it was after the trace and the export: its weights and statistics, and each module's mode."""
    from torch.nn.parameter import UninitializedParameter

    modes = [(m, m.training) for m in model.modules()]
    lazy = any(isinstance(p, UninitializedParameter) for p in model.parameters())  # the trace materializes them: keep that
    state = None if lazy else copy.deepcopy(model.state_dict())
    try:
        yield
    finally:
        if state is not None:
            model.load_state_dict(state)
        for module, training in modes:
            module.training = training
