"""Each feature's measured effect on the logits (what a layer needs to earn its criterion), and the count, per model.

`grader check` on each path: the trusted trainer perturbs each BN / Dropout / GAP / FC output of the initialized
model and measures how much of the perturbation reaches the logits (grader.graph.build.feature_effects); a feature
counts from grader.inspect.MIN_EFFECT up. Prints one row per model, then the smallest effect of each feature over
the models that use it, for the README's margin table.

    python bench/feature_effects.py submissions/seed*.py grader/reference/model.py ../shared/real-submissions/*/ ...
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from grader import api  # noqa: E402
from grader.inspect import MIN_EFFECT  # noqa: E402
from grader.rubric import ARCHITECTURE_FEATURES  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("submissions", nargs="+")
    args = parser.parse_args()
    print(f"{'submission':34} {'counted':>9} " + " ".join(f"{f:>10}" for f in ARCHITECTURE_FEATURES) + "  flags")
    smallest: dict[str, tuple[float, str]] = {}
    for path in args.submissions:
        name = path.rstrip("/").rsplit("/", 1)[-1]
        grade = api.check(path)
        if grade.inspection is None or grade.status == "error":
            print(f"{name:34} error: {grade.error.message[:90] if grade.error else ''}")
            continue
        effects = grade.inspection.effects
        cells = [f"{effects[f]:10.4f}" if f in effects and _runs(grade, f) else f"{'-':>10}" for f in ARCHITECTURE_FEATURES]
        print(f"{name:34} {grade.inspection.parameters.counted:9,} " + " ".join(cells) + "  " + ", ".join(f.id for f in grade.flags))
        for f in ARCHITECTURE_FEATURES:
            if f in effects and _runs(grade, f) and effects[f] < smallest.get(f, (float("inf"), ""))[0]:
                smallest[f] = (effects[f], name)
    print(f"\nthe threshold (grader.inspect.MIN_EFFECT): {MIN_EFFECT}")
    for f, (effect, name) in smallest.items():
        print(f"smallest {f} effect: {effect:.4f} ({name})")


def _runs(grade, feature: str) -> bool:
    """The feature runs in the graph (credited, or refused only for its effect)."""
    return getattr(grade.inspection.architecture, feature) or any(f.id == "feature_without_effect" and f.message.startswith(feature)
                                                                  for f in grade.flags)


if __name__ == "__main__":
    main()
