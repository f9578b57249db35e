"""The Markdown report: GitHub's job summary and Gradescope's `output` (GitHub-flavoured tables, no raw HTML).

Everything that comes from the submission (messages, layer names, tracebacks, paths) is escaped, or fenced
with a fence longer than any run of backticks inside it, so a submission cannot inject Markdown or HTML.
"""

from __future__ import annotations

import re

from grader import __version__
from grader.report import advice
from grader.results import Grade

MARKS = {"passed": "✅", "failed": "❌", "not run": "⏸️"}
TRACEBACK_CHARS = 6000  # the tail of a traceback that a report keeps
OUTPUT_CHARS = 1500  # the tail of what the submission printed


def render(grade: Grade) -> str:
    parts = [_verdict(grade)]
    if grade.provisional:
        parts.append("> ⚠️ **PROVISIONAL**: this run deviates from the rubric's recipe (" + escape("; ".join(grade.provisional))
                     + "). Its numbers are not the grade.")
    if grade.error:
        parts.append(_error(grade))
    parts.append(_criteria(grade))
    if seeds := advice.seeds_text(grade):
        parts.append(f"> {'⚖️ **BORDERLINE**: ' if grade.borderline else ''}{escape(seeds)}")
    if machine := advice.machine_text(grade):
        parts.append(f"> {escape(machine)}")
    if grade.inspection:
        parts.append(_model(grade))
    if grade.flags:
        parts.append(_flags(grade))
    if grade.training or grade.reference:
        parts.append(_training(grade))
    parts.append(_provenance(grade))
    return "\n\n".join(parts) + "\n"


def _verdict(grade: Grade) -> str:
    mark = {"error": "💥", "pass": "✅", "fail": "❌"}[grade.verdict]
    model = f" (`{_code(grade.model.model_class)}`)" if grade.model else ""
    graded = f"\n\nGraded {escape(advice.model_text(grade))}." if grade.model else ""
    return (f"## {mark} {grade.verdict.upper()}{advice.qualifiers(grade)}: {advice.points_text(grade)}\n\n"
            f"**{escape(grade.submission_path)}**{model} · {escape(grade.rubric_title)} · `grader {grade.mode}`{graded}")


def _error(grade: Grade) -> str:
    e = grade.error
    lines = [f"### Error while {advice.STAGE_WORDS.get(e.stage, escape(e.stage))}", "", f"**{escape(e.message)}**"]
    stage_advice = advice.STAGE_ADVICE.get(e.stage)
    if stage_advice:
        lines += ["", stage_advice]  # the grader's own text, written with Markdown code spans
    if e.traceback.strip():
        lines += ["", fenced(_tail(e.traceback.strip(), TRACEBACK_CHARS), "text")]
    if grade.output.strip():
        lines += ["", "What the submission printed (the end):", "", fenced(_tail(grade.output.strip(), OUTPUT_CHARS), "text")]
    return "\n".join(lines)


def _criteria(grade: Grade) -> str:
    rows = ["### Criteria", "", "| | criterion | points | detail |", "| --- | --- | ---: | --- |"]
    for c in grade.criteria:
        state = "not run" if not c.ran else "passed" if c.passed else "failed"
        points = f"{c.points:g} / {c.max_points:g}" if c.max_points else ""
        rows.append(f"| {MARKS[state]} | {escape(c.id)} | {points} | {escape(c.detail)} |")
    if grade.error and any(c.points for c in grade.criteria):
        rows += ["", "The submission errored, so the score is 0 whatever the criteria above found."]
    return "\n".join(rows)


def _model(grade: Grade) -> str:
    i = grade.inspection
    p, a = i.parameters, i.architecture
    extra = [f"{p.buffers_extra:,} in extra buffers"] if p.buffers_extra else []
    extra += [f"{p.hidden:,} hidden"] if p.hidden else []
    ran = " · ".join(f"{name} {'✅' if used else '❌'}" for name, used in
                     (("BatchNorm", a.batchnorm), ("Dropout", a.dropout), ("GAP", a.gap), ("FC", a.fc)))
    output = {"logits": "logits", "log_probs": "log-probabilities (log_softmax)",
              "probabilities": "**probabilities (softmax)**: return logits or log_softmax instead"}.get(a.output_kind, escape(a.output_kind))
    lines = ["### Model", "",
             f"- **Parameters**: {p.counted:,} counted ({p.total:,} registered, {p.trainable:,} trainable"
             + "".join(f", {e}" for e in extra) + ")",
             f"- **Ran in the forward pass**: {ran}",
             f"- **Receptive field**: {a.receptive_field} px at the last spatial layer (the image is 28 px)",
             f"- **Output**: {output}"]
    lines += [f"- note: {escape(note)}" for note in i.notes]
    if i.layers:
        lines += ["", "| layer | type | output shape | params | RF |", "| --- | --- | --- | ---: | ---: |"]
        for layer in i.layers:
            shape = "×".join(str(d) for d in layer.output_shape[1:]) if layer.output_shape else "?"
            lines.append(f"| {escape(layer.name)} | {escape(layer.type)} | {shape} | {layer.parameters:,} | {layer.receptive_field or ''} |")
    return "\n".join(lines)


def _flags(grade: Grade) -> str:
    lines = ["### Flags", ""]
    for f in grade.flags:
        fix = advice.FLAG_ADVICE.get(f.id, "")
        lines.append(f"- ⚑ **{escape(f.id)}**: {escape(f.message)}" + (f"  \n  **Fix**: {fix}" if fix else ""))
    return "\n".join(lines)


def _training(grade: Grade) -> str:
    t, m, ref = grade.training, grade.metrics, grade.reference
    pct = lambda v: "–" if v is None else f"{v:.2f}%"  # noqa: E731
    lines = ["### Training"]
    if t:
        which = f"The first run (seed {t.runs[0].seed}): " if len(t.runs) > 1 else ""
        lines += ["", f"{which}{t.epochs} epochs on {escape(t.device)}, {t.seconds:.0f} s, of {advice.TRAINED_BY_WORDS.get(t.trained_by, '')}."]
        if m.accuracy_before_training is not None:
            lines[-1] += f" Untrained: {m.accuracy_before_training:.1f}% validation accuracy (chance is about 10%)."
    else:
        lines += ["", "Not trained in this run."]
    yours_params = f"{grade.inspection.parameters.counted:,}" if grade.inspection else "–"
    lines += ["", "| | yours | reference solution |", "| --- | ---: | ---: |",
              f"| validation accuracy | {pct(m.validation_accuracy)} | {pct(ref.validation_accuracy) if ref else '–'} |",
              f"| test accuracy | {pct(m.test_accuracy)} | {pct(ref.test_accuracy) if ref else '–'} |",
              f"| parameters (counted) | {yours_params} | {f'{ref.parameters:,}' if ref else '–'} |",
              f"| epochs | {t.epochs if t else '–'} | {len(ref.history) if ref else '–'} |"]
    if t and t.history:
        history = ref.history if ref else ()
        lines += ["", "| epoch | train loss | validation % | test % | reference validation % |", "| ---: | ---: | ---: | ---: | ---: |"]
        for r in t.history:
            reference = f"{history[r.epoch - 1]:.2f}" if r.epoch <= len(history) else ""
            lines.append(f"| {r.epoch} | {r.train_loss:.4f} | {r.validation_accuracy:.2f} | {r.test_accuracy:.2f} | {reference} |")
    return "\n".join(lines)


def _provenance(grade: Grade) -> str:
    env = grade.environment
    return (f"grader {__version__} · python {escape(env.python)}, torch {escape(env.torch)}, device {escape(env.device or '–')}, "
            f"{escape(env.cpu or '–')} ({escape(env.machine or '–')}), isolation {escape(env.isolation)}, seed {env.seed} · "
            f"rubric {escape(grade.rubric_path)} ({grade.rubric_sha256[:12] or '–'}) · "
            f"submission sha256 {grade.submission_sha256[:12] or '–'} · {grade.seconds:.1f} s")


_SPECIAL = re.compile(r"([\\`*_\[\]|~])")  # what could start emphasis, code, a link or a table cell


def escape(value: str) -> str:
    """Untrusted text on one line: HTML and Markdown syntax escaped, safe inside a table cell."""
    value = " ".join(str(value).split())
    value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _SPECIAL.sub(r"\\\1", value)


def _code(value: str) -> str:
    """Text inside an inline code span (`...`): backticks and pipes cannot end it or split a table cell."""
    return " ".join(str(value).split()).replace("`", "'").replace("|", "¦")


def fenced(text: str, language: str = "") -> str:
    """A fenced code block that no run of backticks inside the text can close."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{language}\n{text}\n{fence}"


def _tail(text: str, limit: int) -> str:
    return text if len(text) <= limit else "…" + text[-limit:]
