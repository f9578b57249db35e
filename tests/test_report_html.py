"""The HTML report over Grade objects built by hand: every kind of grade renders, escapes, and stays offline."""

import dataclasses
import re
from html import unescape
from html.parser import HTMLParser

import numpy as np
import pytest

from grader import __version__, cli
from grader.notebook import ShownGrade
from grader.report import html
from grader.results import (
    Architecture,
    CriterionResult,
    Diagnostics,
    Environment,
    EpochRecord,
    FeatureMaps,
    Flag,
    Grade,
    Inspection,
    Layer,
    LayerActivation,
    Metrics,
    Mistake,
    ParameterCount,
    Reference,
    SeedRun,
    StageError,
    Training,
)
from grader.rubric import DEFAULT_RUBRIC, load_rubric

SECTIONS = ("Verdict", "What to change", "Compared with the reference solution", "The model", "Where the model goes wrong",
            "Inside the model", "Reproducibility")
RUBRIC = load_rubric(DEFAULT_RUBRIC)
EVIL = "<script>alert(1)</script>"


def make_grade(kind: str = "graded", **overrides) -> Grade:
    """A realistic grade without running anything: kind is graded, check, error or provisional."""
    rng = np.random.default_rng(0)
    layers = (Layer("conv1", "Conv2d", (4, 8, 26, 26), 72, 3), Layer("bn1", "BatchNorm2d", (4, 8, 26, 26), 16, 3),
              Layer("drop", "Dropout", (4, 8, 26, 26), 0, 3), Layer("conv2", "Conv2d", (4, 16, 24, 24), 1152, 5),
              Layer("gap", "AdaptiveAvgPool2d", (4, 16, 1, 1), 0, 5), Layer("fc", "Linear", (4, 10), 170, None))
    inspection = Inspection(
        "Net", ParameterCount(1410, 1410, 0, 0, 1410),
        Architecture(batchnorm=True, dropout=False, gap=True, fc=True, receptive_field=5, output_kind="logits"),
        layers, "Layer (type)   Output Shape   Param #\nNet            [4, 10]        1,410",
        (Flag("unused_layer", "layer 'dropout2' is declared in __init__ but never called in forward: it does not count as used "
                              "(call it in forward, or delete it)"),),
        ("tqdm is not installed: its import was skipped",))
    history = tuple(EpochRecord(e, 1.0 / e, v, v + 0.1, 30.0 * e) for e, v in ((1, 97.8), (2, 98.9), (3, 99.21)))
    confusion = np.diag(np.full(10, 980))
    confusion[4, 9], confusion[7, 2] = 12, 5
    diagnostics = Diagnostics(
        confusion=tuple(tuple(int(v) for v in row) for row in confusion),
        mistakes=tuple(Mistake(i, 4, 9, rng.integers(0, 256, (28, 28), dtype=np.uint8)) for i in range(5)),
        activations=(LayerActivation("conv1", "Conv2d", 0.01, 0.6, 0.0), LayerActivation("relu", "ReLU", 0.3, 0.6, 0.95)),
        feature_maps=(FeatureMaps("conv1", rng.normal(size=(8, 26, 26))),
                      FeatureMaps("conv2", np.concatenate([rng.normal(size=(15, 24, 24)), np.zeros((1, 24, 24))]))),
        sample_image=rng.integers(0, 256, (28, 28), dtype=np.uint8), sample_label=7)
    criteria = (CriterionResult("accuracy", False, 26.25, 50, "validation accuracy 99.21% at the last epoch (needs 99.40%); "
                                                              "partial credit from 99.00%", metric="validation_accuracy"),
                CriterionResult("parameters", True, 20, 20, "1,410 counted parameters (below 20,000)"),
                CriterionResult("batchnorm", True, 10, 10, "Batch Normalization ran in the forward pass"),
                CriterionResult("dropout", False, 0, 10, "Dropout never ran in a training-mode forward pass"),
                CriterionResult("fc_or_gap", True, 10, 10, "Global Average Pooling and a fully connected layer ran in the forward pass"))
    grade = Grade(
        submission_path="submissions/student.py", submission_sha256="ab" * 32, rubric_path=RUBRIC.path,
        rubric_sha256=RUBRIC.sha256, rubric_title=RUBRIC.title, mode="grade", provisional=(),
        environment=Environment("3.11.7", "2.14.1", "cpu (2 threads)", "process", 1), error=None, inspection=inspection,
        training=Training(3, "cpu (2 threads)", 90.0, history), metrics=Metrics(99.21, 99.31, 9.8), criteria=criteria,
        score=66.25, max_score=100.0, reference=Reference(99.45, 99.5, 7_900, (98.0, 99.0, 99.3, 99.45)),
        diagnostics=diagnostics, seconds=95.5, output="epoch 1 done\n")
    if kind == "check":
        not_run = CriterionResult("accuracy", False, 0.0, 50, "not run: `grader check` does not train; run `grader grade`", ran=False,
                                  metric="validation_accuracy")
        grade = dataclasses.replace(grade, mode="check", training=None, metrics=Metrics(None, None, None), diagnostics=None,
                                    criteria=(not_run,) + criteria[1:], score=40.0, output="")
    elif kind == "error":
        error = StageError("load", "SyntaxError: invalid syntax (student.py, line 12)",
                           'Traceback (most recent call last):\n  File "student.py", line 12\n    def forward(self x):\n'
                           "SyntaxError: invalid syntax")
        failed = tuple(CriterionResult(c.id, False, 0.0, c.max_points, "not graded: the submission did not load", metric=c.metric)
                       for c in criteria)
        grade = dataclasses.replace(grade, error=error, inspection=None, training=None, metrics=Metrics(None, None, None),
                                    criteria=failed, score=0.0, diagnostics=None, output="loading data...\n")
    elif kind == "provisional":
        grade = dataclasses.replace(grade, provisional=("3 of the rubric's 19 epochs", "smaller training split: 600 of 50,000"))
    elif kind in ("borderline", "pending"):  # the first run at 99.36: within the band, so seeds 2 and 3 decide (or will)
        first = SeedRun(1, 99.36, 99.41, 90.0, history[:2] + (EpochRecord(3, 0.33, 99.36, 99.41, 90.0),))
        runs = (first,) if kind == "pending" else (first, SeedRun(2, 99.45, 99.5, 91.0, history), SeedRun(3, 99.42, 99.47, 92.0, history))
        passed = kind == "borderline"
        detail = ("validation accuracy 99.41% at the last epoch, mean of 3 seeds (99.36, 99.45, 99.42) (needs 99.40%)" if passed
                  else "validation accuracy 99.36% at the last epoch (needs 99.40%); partial credit from 99.00%")
        accuracy = CriterionResult("accuracy", passed, 50 if passed else 45.0, 50, detail, borderline=True, metric="validation_accuracy")
        grade = dataclasses.replace(grade, training=Training(3, "cpu (1 thread, AVX2)", 90.0, first.history, runs=runs, borderline=True,
                                                             pending_runs=0 if passed else 2),
                                    metrics=Metrics(99.41 if passed else 99.36, 99.46 if passed else 99.41, 9.8),
                                    criteria=(accuracy,) + criteria[1:], score=90.0 if passed else 85.0)
    return dataclasses.replace(grade, **overrides)


KINDS = ("graded", "check", "error", "provisional", "borderline", "pending")


@pytest.fixture(scope="module", params=KINDS)
def rendered(request) -> tuple[Grade, str]:
    grade = make_grade(request.param)
    return grade, html.render(grade)


def headings(page: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "", h).strip() for h in re.findall(r"<h2[^>]*>(.*?)</h2>", page, flags=re.S)]


def test_every_kind_of_grade_has_every_section_and_its_score(rendered):
    grade, page = rendered
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert set(SECTIONS) <= set(headings(page))
    assert f"{grade.score:g} / {grade.max_score:g}" in page
    assert ("Error" in headings(page)) == (grade.error is not None)


class Elements(HTMLParser):
    """Every start tag with its attributes, and the text of <style> elements, as a browser would parse them."""

    def __init__(self, page: str):
        super().__init__()
        self.tags, self.styles, self._in_style = [], [], False
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_style = tag == "style"

    def handle_data(self, data):
        if self._in_style:
            self.styles.append(data)
            self._in_style = False


def test_nothing_points_to_the_network(rendered):
    _, page = rendered
    assert not re.search(r"""\b(?:src|href|srcset|poster|action)\s*=\s*["']?\s*(?:https?:)?//""", page, flags=re.I)
    assert not re.search(r"""url\(\s*["']?\s*(?:https?:)?//""", page, flags=re.I)
    assert not re.search(r"<link\b|<script\b|@import|<iframe\b", page, flags=re.I)
    assert_offline(page)


def assert_offline(page: str) -> None:
    elements = Elements(page)
    assert not {tag for tag, _ in elements.tags} & {"link", "script", "iframe", "object", "embed", "base"}
    for tag, attrs in elements.tags:
        for name in ("src", "href", "srcset", "poster", "action", "data", "xlink:href"):
            if name in attrs:
                assert attrs[name].startswith(("data:image/png;base64,", "#")), (tag, name, attrs[name])
        assert "//" not in re.sub(r"url\(#[^)]*\)", "", attrs.get("style", "") or ""), (tag, attrs)
    for css in elements.styles:
        assert not re.search(r"url\(|@import|@font-face", css)


def test_graded_report_shows_charts_images_and_the_threshold():
    page = html.render(make_grade())
    assert page.count("<svg") == 2  # validation accuracy (yours, the reference, the threshold) and training loss
    assert "rubric threshold 99.4%" in page and "reference solution" in page and "your model" in page
    assert page.count("data:image/png;base64,") == 5 + 2 + 1  # mistakes, feature-map grids, the sample digit
    assert "4→9 (12)" in text(page)  # the most frequent confusion, named
    assert "1 constant (dead) channel" in page and 'class="criterion partial"' in page
    assert "torchinfo summary" in page and "<details" in page
    for fact in ("2.14.1", "process", "cpu (2 threads)", RUBRIC.sha256, "ab" * 32, "95.5 s", f"grader {__version__}"):
        assert fact in page


def text(fragment: str) -> str:
    """What a reader sees: tags dropped, entities decoded, backticks as the advice is written."""
    return unescape(re.sub(r"</?code>", "`", re.sub(r"<(?!/?code>)[^>]+>", "", fragment)))


def test_failed_criteria_and_flags_say_what_to_change():
    page = html.render(make_grade())
    advice = text(page[page.index('id="advice"'):page.index('id="reference"')])
    assert html.CRITERION_ADVICE["dropout"] in advice and html.CRITERION_ADVICE["accuracy"] in advice
    assert "layer 'dropout2' is declared in __init__ but never called" in advice and html.FLAG_ADVICE["unused_layer"] in advice
    assert html.CRITERION_ADVICE["parameters"] not in advice  # it passed
    assert "<code>nn.Dropout(p)</code>" in page


def test_an_error_is_the_only_thing_to_change_when_nothing_loaded():
    page = html.render(make_grade("error"))
    advice = text(page[page.index('id="advice"'):page.index('id="reference"')])
    assert html.STAGE_ADVICE["load"] in advice and html.CRITERION_ADVICE["dropout"] not in advice


def test_the_advice_covers_every_flag_the_grader_raises():
    raised = {"unused_layer", "unused_parameters", "dropout_inactive", "probabilities_output", "hidden_parameters",
              "non_statistic_buffers", "pretrained_weights", "unused_result", "answers_looked_up"}
    assert raised <= set(html.FLAG_ADVICE)
    assert {c.id for c in RUBRIC.criteria} <= set(html.CRITERION_ADVICE)


def test_check_mode_says_what_did_not_run():
    page = html.render(make_grade("check"))
    assert "not run" in page and "need training" in page
    assert page.count("<svg") == 1  # the reference's curve alone
    assert "run <code>grader grade</code>" in page


def test_errored_grade_shows_stage_traceback_and_output():
    page = html.render(make_grade("error"))
    assert "SyntaxError: invalid syntax (student.py, line 12)" in page
    assert re.search(r"<pre[^>]*>Traceback \(most recent call last\)", page)
    assert "loading data..." in page and html.STAGE_ADVICE["load"] in text(page)
    assert "ERROR" in page and "<svg" in page  # the reference curve still draws


def test_provisional_runs_carry_a_loud_banner():
    page = html.render(make_grade("provisional"))
    assert 'class="provisional"' in page and "PROVISIONAL" in page
    assert "3 of the rubric&#39;s 19 epochs; smaller training split: 600 of 50,000" in page
    assert "PROVISIONAL" not in html.render(make_grade())


def test_everything_from_the_submission_is_escaped():
    grade = make_grade(output=EVIL + "\n<img src=https://evil.example/x.png>", submission_path=f"student{EVIL}.py")
    grade = dataclasses.replace(grade, inspection=dataclasses.replace(
        grade.inspection, model_class=EVIL, flags=(Flag("unused_layer", f"layer '{EVIL}' is unused"),), notes=(EVIL,),
        summary=EVIL, layers=(Layer(EVIL, EVIL, (4, 10), 10, 3),)))
    grade = dataclasses.replace(grade, diagnostics=dataclasses.replace(
        grade.diagnostics, activations=(LayerActivation(EVIL, EVIL, 0.0, 1.0, 0.5),), feature_maps=(FeatureMaps(EVIL, np.ones((2, 3, 3))),)))
    page = html.render(grade)
    assert "<script" not in page and "<img src=https" not in page
    assert page.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 8
    assert_offline(page)  # the escaped <img src=https://...> is text, not an element


def test_missing_reference_diagnostics_and_rubric_still_render():
    grade = make_grade(reference=None, diagnostics=None, rubric_path="/nonexistent/rubric.toml")
    page = html.render(grade)
    assert "No reference results are recorded" in page and "rubric threshold" not in page
    assert set(SECTIONS) <= set(headings(page))
    nan_loss = make_grade(training=Training(1, "cpu", 1.0, (EpochRecord(1, float("nan"), 90.0, 90.0, 1.0),)), reference=None)
    assert html.render(nan_loss).count("<svg") == 1  # no loss chart without a finite loss


def test_only_the_early_epochs_of_a_long_run_fall_off_the_accuracy_chart():
    long = tuple(EpochRecord(e, 0.1, v, v, e) for e, v in enumerate((60.0, 97.0, 98.5, 98.9, 99.1, 99.3, 99.42), 1))
    assert "off the chart" in html.render(make_grade(training=Training(7, "cpu", 7.0, long)))
    short = tuple(EpochRecord(e, 0.1, v, v, e) for e, v in enumerate((60.0, 97.0), 1))
    assert "off the chart" not in html.render(make_grade(training=Training(2, "cpu", 2.0, short), reference=None))


def test_a_changed_rubric_file_draws_no_threshold():
    assert "rubric threshold" not in html.render(make_grade(rubric_sha256="0" * 64))


def test_the_page_is_ascii_so_any_file_encoding_can_hold_it():
    page = html.render(make_grade(output="épreuve ✔ 数字\n"))
    assert page.isascii() and "épreuve ✔ 数字" in unescape(page)


def test_rendering_is_deterministic():
    assert html.render(make_grade()) == html.render(make_grade())


def test_feature_maps_of_any_shape_render():
    maps = (FeatureMaps("flat", np.ones((5, 5))), FeatureMaps("one", np.zeros((3, 1, 1))), FeatureMaps("wide", np.arange(40.0).reshape(40, 1, 1)))
    grade = make_grade()
    page = html.render(dataclasses.replace(grade, diagnostics=dataclasses.replace(grade.diagnostics, feature_maps=maps)))
    assert "3 constant (dead) channels" in page and "40 × 1×1" in text(page)


def test_cli_writes_the_html_report_of_a_real_check(tmp_path):
    out = tmp_path / "report.html"
    assert cli.main(["check", "submissions/seed004_gap_8440.py", "--html", str(out)]) == 0
    page = out.read_text()
    assert "seed004_gap_8440.py" in page and "convblock1.0" in page and set(SECTIONS) <= set(headings(page))


# --- the fragment a notebook cell shows (grader.notebook.ShownGrade._repr_html_) ------------------------

def test_the_fragment_is_the_pages_sections_in_one_scoped_element():
    for kind in ("graded", "check", "error", "provisional"):
        grade = make_grade(kind)
        fragment = ShownGrade(**{f.name: getattr(grade, f.name) for f in dataclasses.fields(grade)})._repr_html_()
        assert fragment == html.fragment(grade) and fragment.startswith(f'<div class="{html.FRAGMENT}">')
        shown = set(headings(fragment))
        assert {"Verdict", "What to change", "The model", "Reproducibility"} <= shown
        assert not shown & {"Where the model goes wrong", "Inside the model"}  # the diagnostics stay in the page
        assert ("Compared with the reference solution" in shown) == (grade.training is not None)  # the curves, for a grade
        assert f"{grade.score:g} / {grade.max_score:g}" in fragment
        assert_offline(re.sub(r"<style>.*?</style>", "", fragment, flags=re.S))


def test_the_fragments_style_reaches_nothing_outside_it():
    css = html.scoped_style()
    selectors = [s.strip() for block in re.findall(r"([^{}]+)\{[^{}]*\}", re.sub(r"@media[^{]+\{", "", css)) for s in block.split(",")]
    assert len(selectors) > 50 and all(s == f".{html.FRAGMENT}" or s.startswith(f".{html.FRAGMENT} ") for s in selectors)
    assert "@media (max-width: 900px)" in css and ".grader-report .two" in css  # the narrow layout, scoped too


def test_a_fragment_escapes_what_the_submission_set():
    grade = make_grade(output=EVIL, submission_path=f"student{EVIL}.py")
    grade = dataclasses.replace(grade, inspection=dataclasses.replace(grade.inspection, model_class=EVIL, notes=(EVIL,),
                                                                      layers=(Layer(EVIL, EVIL, (4, 10), 10, 3),)))
    fragment = html.fragment(grade)
    assert "<script" not in fragment and "&lt;script&gt;alert(1)&lt;/script&gt;" in fragment
