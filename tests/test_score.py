import dataclasses

import pytest

from grader.results import Architecture, EpochRecord, Flag, Inspection, ParameterCount
from grader.rubric import Criterion, Recipe, Rubric, Seeds
from grader.score import borderline_criteria, score, score_error


def inspection(counted=8000, **features) -> Inspection:
    arch = Architecture(**{"batchnorm": True, "dropout": True, "gap": True, "fc": False, **features},
                        receptive_field=24, output_kind="logits")
    return Inspection("Net", ParameterCount(counted, counted, 0, 0, counted), arch, (), "", (), ())


def history(*validation) -> tuple[EpochRecord, ...]:
    return tuple(EpochRecord(i + 1, 0.1, v, v, float(i)) for i, v in enumerate(validation))


def rubric(*criteria, fail_on_flags=(), band=0.15) -> Rubric:
    return Rubric("t", Recipe(), tuple(criteria), fail_on_flags=fail_on_flags, seeds=Seeds(1, 3, band))


ACC = Criterion("accuracy", 40, metric="validation_accuracy", at_least=99.4, partial_from=99.0)


@pytest.mark.parametrize("mode, values, passed", [
    ("final", (99.5, 99.3), False),
    ("final", (99.3, 99.45), True),
    ("best", (99.5, 99.3), True),
    ("min_last_3", (99.1, 99.5, 99.41, 99.42), True),
    ("min_last_3", (99.5, 99.5, 99.39, 99.6), False),
])
def test_accuracy_modes(mode, values, passed):
    (result,), total, _ = score(rubric(dataclasses.replace(ACC, mode=mode)), inspection(), (history(*values),), ())
    assert result.passed is passed


def test_partial_credit_is_linear_between_partial_from_and_threshold():
    (result,), total, maximum = score(rubric(ACC), inspection(), (history(99.2),), ())
    assert not result.passed and result.points == pytest.approx(20.0) and total == pytest.approx(20.0) and maximum == 40
    (below,), _, _ = score(rubric(ACC), inspection(), (history(98.9),), ())
    assert below.points == 0


def test_check_mode_reports_accuracy_as_not_run():
    (result,), total, _ = score(rubric(ACC), inspection(), None, ())
    assert result.ran is False and result.points == 0 and "not run" in result.detail


def test_each_result_names_the_metric_an_accuracy_criterion_judged():
    criteria = (ACC, Criterion("parameters", 20, less_than=20000))
    for histories in ((history(99.2),), None):  # graded, and not run under check
        accuracy, parameters = score(rubric(*criteria), inspection(), histories, ())[0]
        assert (accuracy.metric, parameters.metric) == ("validation_accuracy", "")
    assert [r.metric for r in score_error(rubric(*criteria), "load", "grade")[0]] == ["validation_accuracy", ""]


def test_parameters_and_architecture_criteria():
    criteria = (Criterion("parameters", 20, less_than=20000), Criterion("bn", 10, uses=("batchnorm", "dropout")),
                Criterion("head", 10, uses_any=("fc", "gap")))
    results, total, _ = score(rubric(*criteria), inspection(counted=20000, dropout=False, gap=False), None, ())
    assert [r.passed for r in results] == [False, False, False] and total == 0
    assert "20,000 counted parameters" in results[0].detail and "Dropout" in results[1].detail
    results, total, _ = score(rubric(*criteria), inspection(counted=19999), None, ())
    assert all(r.passed for r in results) and total == 40


def test_a_failing_flag_zeroes_the_score():
    flag = Flag("pretrained_weights", "ships weights")
    results, total, _ = score(rubric(ACC, fail_on_flags=("pretrained_weights",)), inspection(), (history(99.6),), (flag,))
    assert total == 0 and results[-1].id == "flags" and not results[-1].passed


def test_the_mean_of_the_runs_decides():
    runs = (history(99.2, 99.35), history(99.3, 99.5), history(99.0, 99.45))  # mean of the finals: 99.4333
    (result,), total, _ = score(rubric(ACC), inspection(), runs, (), borderline=("accuracy",))
    assert result.passed and result.borderline and total == 40
    assert "mean of 3 seeds (99.35, 99.50, 99.45)" in result.detail
    (below,), _, _ = score(rubric(ACC), inspection(), runs[:1] + (history(99.3),), ())  # mean 99.325: partial credit on the mean
    assert not below.passed and not below.borderline and below.points == pytest.approx(40 * 0.325 / 0.4, abs=0.01)


@pytest.mark.parametrize("final, band, borderline", [
    (99.30, 0.15, True), (99.54, 0.15, True), (99.55, 0.15, False), (99.2, 0.15, False), (99.45, 0.0, False)])
def test_a_run_within_the_band_of_the_threshold_is_borderline(final, band, borderline):
    assert bool(borderline_criteria(rubric(ACC, band=band), (history(final),))) is borderline


def test_only_accuracy_criteria_are_borderline():
    criteria = (ACC, Criterion("parameters", 20, less_than=20000), Criterion("test", 10, metric="test_accuracy", at_least=99.0))
    assert borderline_criteria(rubric(*criteria), (history(99.4),)) == ("accuracy",)


def test_a_mean_exactly_at_the_threshold_passes():
    runs = (history(99.38), history(99.41), history(99.41))  # in floating point their mean is 99.39999999999999
    (result,), total, _ = score(rubric(ACC), inspection(), runs, ())
    assert result.passed and total == 40 and "99.40% at the last epoch" in result.detail
