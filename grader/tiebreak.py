"""The benefit of the doubt: versions of the model that no signal tells apart (grader.load.signals) are each built
and traced, and the grade goes to the one that best meets the rubric's structural criteria (README, "Which class is
the model").

One model worker, in trace mode, loads, builds and traces each tied version in turn (no export, no trainer: a
fraction of a second each once torch and the submission's imports are loaded); each inspection is scored as
`grader check` scores one. Equal scores keep the signals' last resort, the last by file name and position. The
version chosen is then checked or graded as usual, flagged `model_class_guessed` with the others and why it won.
The traces come from the submission's code, like every worker's files: a forged one can only pick another of the
student's own versions, which the real check then grades.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from grader.load.signals import ORDER, STRUCTURE
from grader.results import Inspection, ModelChoice
from grader.rubric import Rubric
from grader.score import score


def break_tie(choice: ModelChoice, trace: Callable[[tuple[ModelChoice, ...]], list[Inspection | None]], rubric: Rubric) -> ModelChoice:
    """The tied version (`choice.tied`, in the signals' order) with the most structural points; `trace` builds and
    traces them (None for one that fails)."""
    versions = choice.tied
    points = [structural_points(rubric, inspection) for inspection in trace(versions)]
    if all(p is None for p in points):
        return dataclasses.replace(choice, tied=())  # none builds: the chosen one's check says why
    best = max(p for p in points if p is not None)
    winners = [v for v, p in zip(versions, points, strict=True) if p == best]
    scored = ", ".join(f"{v.file}:{v.model_class} {'fails to build' if p is None else f'{p:g}'}"
                       for v, p in zip(versions, points, strict=True))
    if len(winners) == 1:
        signal, why = STRUCTURE, f"the most structural points of the rubric among the tied versions ({scored})"
    else:
        signal, why = ORDER, f"equal on the rubric's structural criteria ({scored}): the last by file name and position"
    return dataclasses.replace(winners[0], reason=f"{winners[0].reason}; {why}", signal=signal, tied=())


def structural_points(rubric: Rubric, inspection: Inspection | None) -> float | None:
    """What `grader check` would score: the rubric's criteria that need no training, after its failing flags."""
    if inspection is None:
        return None
    _, total, _ = score(rubric, inspection, None, inspection.flags)
    return total
