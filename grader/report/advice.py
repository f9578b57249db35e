"""What to change, for the reports that explain a grade (HTML, Markdown), and the words every report shares: plain text,
defined once."""

from grader import protocol as P
from grader.results import OBJECT, WEAK_ISOLATION

# What to change, keyed by criterion id (the rubric's) and by flag id. Unknown ids fall back to the detail alone.
CRITERION_ADVICE = {
    "accuracy": "Look at the curves below: if validation accuracy is still rising at the last epoch, the model is too small or "
                "learns too slowly (more channels early, BatchNorm after every convolution); if it rises then falls, it "
                "overfits (more Dropout; augmentation is already in the recipe). Check that the receptive field covers most "
                "of the 28-pixel image before the classifier.",
    "parameters": "Find where the parameters go in the layer table: a wide fully connected layer, or 3×3 convolutions with "
                  "many channels, are the usual culprits. Use 1×1 convolutions to reduce channels, and Global Average "
                  "Pooling instead of flattening a large map into a Linear layer.",
    "batchnorm": "Add `nn.BatchNorm2d(channels)` after each convolution and call it in `forward`: a layer declared in "
                 "`__init__` but never called does not count.",
    "dropout": "Add `nn.Dropout(p)` with p > 0 (0.05 to 0.1 is usual for small models) and call it in `forward`.",
    "fc_or_gap": "End the network with `nn.AdaptiveAvgPool2d(1)` (Global Average Pooling) or an `nn.Linear` layer, and call it "
                 "in `forward`.",
    "flags": "The rubric sets the score to 0 for this flag: see the flags below.",
}
FLAG_ADVICE = {
    "untrusted_training": "Make `forward` exportable: no Python `if` or loop on tensor values, no batch size written into "
                          "`view(...)` (use `x.view(x.size(0), -1)` or `flatten(1)`), no `.item()`; the message says what "
                          "stopped the export.",
    "feature_without_effect": "Use the layer's result: a Dropout or BatchNorm whose output is multiplied by zero, or "
                              "thrown away, does not count.",
    "model_class_guessed": "Name the class to grade (`--model-class FILE:CLASS`, or `model_class` in the rubric), or remove "
                           "the versions you do not hand in; the grader took the newest one it could find.",
    "unused_layer": "Call the layer in `forward`, or delete it from `__init__` (its parameters are counted either way).",
    "unused_parameters": "Delete the parameters `forward` never uses: they count toward the limit and do nothing.",
    "dropout_inactive": "`Dropout(p=0)` or `F.dropout(x, p, training=False)` does nothing: use p > 0 and let `model.train()` "
                        "switch it on (`F.dropout(x, p, training=self.training)`).",
    "probabilities_output": "Return the raw scores (logits) or `F.log_softmax(x, dim=1)`, not `F.softmax`: the grader's "
                            "cross-entropy applies the softmax itself.",
    "hidden_parameters": "Register trainable tensors as `nn.Parameter` attributes, or in `nn.ParameterList` / "
                         "`nn.ModuleList`: a plain Python list hides them from the optimizer, not from the grader's count.",
    "non_statistic_buffers": "Buffers that hold learned values are parameters in disguise: make them `nn.Parameter`, or "
                             "remove them. Only normalization statistics are free.",
    "unused_result": "Use the layer's output: assign it (`x = self.drop(x)`) so it feeds what `forward` returns; a result "
                     "that is thrown away does not count.",
    "answers_looked_up": "Let the network recognize the digits: a table of answers keyed by the public images' pixels "
                         "misses their perturbed copies, which the grader compares, and the flag scores the grade 0.",
    "pretrained_weights": "Submit the model untrained: the grade comes from the rubric's own training run from a fresh "
                          "initialization. Remove any `torch.load` or `load_state_dict` from the model's constructor.",
}
STAGE_WORDS = {P.LOAD: "loading", P.INSPECT: "inspecting", P.TRAIN: "training", P.EVALUATE: "evaluating",
               P.GRADER: "grading"}  # "error while …"
STAGE_ADVICE = {
    P.LOAD: "The grader could not import the file or build the model with `ModelClass()` (or with the literal arguments "
            "your own notebook or script passes it): run `python yourfile.py`, then build the model that way yourself, "
            "and keep training code out of import time.",
    P.INSPECT: "The forward pass of a 1×28×28 batch failed, or returned something other than (N, 10): try "
               "`model(torch.zeros(4, 1, 28, 28))` and check the shapes in the traceback.",
    P.TRAIN: "Training failed part way: check that `forward` works in both `train()` and `eval()` mode, at any batch size.",
    P.EVALUATE: "The grader could not evaluate the predictions the worker returned: most likely a grader bug; please report it.",
    P.GRADER: "Nothing in your submission: the grader itself failed. Tell your instructor (the traceback below is for them); "
              "the submission can be graded again once the grader is fixed.",
}


def blame(error) -> str:
    """Who failed, as every report says it: the submission (and while doing what), or the grader itself."""
    if error.stage == P.GRADER:
        return "the grader itself failed, not the submission"
    return f"the submission errored while {STAGE_WORDS.get(error.stage, error.stage)}"


def qualifiers(grade) -> str:
    """What the verdict word is qualified by in the reports that lead with it: " (provisional)", " (borderline)"."""
    return " (provisional)" * bool(grade.provisional) + " (borderline)" * grade.borderline


def points_text(grade) -> str:
    """The score as the terminal and Markdown reports state it: out of what this run could judge."""
    if grade.points_not_run:
        return (f"{grade.score:g} / {grade.max_score - grade.points_not_run:g} structural points "
                f"({grade.points_not_run:g} more need `{commands(grade)['grade']}`)")
    return f"{grade.score:g} / {grade.max_score:g} points"


def model_text(grade) -> str:
    """Which file and class were graded, the step of the loading rule and the signal that chose them, and the call
    the model was built with."""
    m = grade.model
    if m is None:
        return ""
    if m.rule == OBJECT:
        return f"{m.model_class} ({m.reason}{f', defined in {m.file}' if m.file else ''})"
    guess = f"; a guess among {len(m.others) + 1} versions" if m.guessed else ""
    built = f", built as {m.constructor.text} ({m.constructor.where})" if m.constructor else ""
    return f"{m.file}:{m.model_class} ({m.reason}{guess}){built}"


def commands(grade) -> dict[str, str]:
    """The calls that check and grade this submission again, as the reports suggest them: the command line's for files,
    the notebook's for an object of the student's session."""
    if grade.self_check:
        return {"check": f"grader.check({grade.model.model_class})", "grade": f"grader.grade({grade.model.model_class})"}
    return {"check": "grader check", "grade": "grader grade"}


def self_check_text(grade) -> str:
    """What a self-check of an object is, for every report that shows one; "" for handed-in files."""
    if not grade.self_check:
        return ""
    trainer = {P.BWRAP: "in a bubblewrap sandbox", P.PROCESS: "as a separate process (no bubblewrap here)"}.get(
        grade.environment.isolation, f"with isolation {grade.environment.isolation}")
    return (f"Self-check of {grade.model.model_class} from your own Python session, not of a handed-in file: it was exported "
            f"there, and everything after (the count, the features, the training and the score) is the grader's own path; the "
            f"trainer ran {trainer}. Your instructor grades the files you hand in: `grader check` on them gives this verdict "
            f"when they define this model.")


TRAINED_BY_WORDS = {"graph": "its exported graph, trained by the grader's own code",
                    "eager": "its own Python code, which the grade cannot trust (untrusted_training)"}


def seeds_text(grade) -> str:
    """The seed policy's outcome in words, for every report (which labels it BORDERLINE in its own way); "" when one
    run decided, as usual."""
    t = grade.training
    if not t or grade.error or (len(t.runs) < 2 and not t.borderline):
        return ""
    if t.pending_runs:
        return (f"Too close to the threshold to decide yet: {t.pending_runs} more seed{'s' if t.pending_runs != 1 else ''} "
                f"will run after the class's first pass, and the mean of all {len(t.runs) + t.pending_runs} will decide; "
                f"this result is not final")
    why = "Too close to the threshold to decide on fewer seeds, so " if t.borderline else ""
    runs = ", ".join(f"{r.validation_accuracy:.2f}" for r in t.runs)
    (val, val_sd), (test, test_sd) = t.spread("validation_accuracy"), t.spread("test_accuracy")
    return (f"{why}{len(t.runs)} seeds ({', '.join(str(r.seed) for r in t.runs)}) decided, by their mean: validation {runs} "
            f"(mean {val:.2f} ± {val_sd:.2f}), test mean {test:.2f} ± {test_sd:.2f} (± one standard deviation)")


def machine_text(grade) -> str:
    """Where the numbers were computed, and what that means for them, for every report; "" when nothing ran."""
    if grade.mode == P.CHECK and not grade.error:
        return ("A self-check of the structure: the accuracy points, and the grade, come from the instructor's "
                "training run (grader grade).")
    if not grade.training or grade.error:
        return ""
    borderline = (f" This close to the threshold that can decide the criterion either way, which is why {len(grade.training.runs)} "
                  f"seeds decide by their mean, whose spread is a third smaller than one run's."
                  if grade.borderline and not grade.training.pending_runs else "")
    return (f"Trained on {grade.environment.machine_kind}. Another kind of machine (another processor, thread count or a "
            f"GPU) trains with other arithmetic, which moves a final accuracy about as much as another training seed "
            f"does.{borderline} The instructor's run is the grade.")


def grade_notes(grade) -> list[str]:
    """What qualifies every criterion of a grade, for the platforms that show one line per criterion: the error that
    kept it from being scored, a run that deviated from the recipe, a run without bubblewrap."""
    notes = []
    if grade.error:
        notes.append(f"not scored: {blame(grade.error)}: {grade.error.message}")
    if grade.provisional:
        notes.append("PROVISIONAL (" + "; ".join(grade.provisional) + "): not the grade")
    if any(f.id == WEAK_ISOLATION for f in grade.flags):
        notes.append(f"{WEAK_ISOLATION}: graded without bubblewrap")
    return notes


def criterion_text(grade, criterion, separator: str) -> str:
    """One criterion as a platform's test shows it: the grade's notes, the criterion's detail and, for a borderline
    criterion, how the seeds decided (or will)."""
    seeds = seeds_text(grade) if criterion.borderline else ""
    machine = machine_text(grade) if criterion.metric else ""
    return separator.join(grade_notes(grade) + [criterion.detail] + [text for text in (seeds, machine) if text])
