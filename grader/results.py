"""The grade and its parts: plain frozen dataclasses that every renderer reads (no formatting here)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from grader.protocol import PROCESS

# Flag ids: the one vocabulary of what a grade can be flagged for; reports and tests match these, never a message.
PRETRAINED_WEIGHTS, ANSWERS_LOOKED_UP = "pretrained_weights", "answers_looked_up"
HIDDEN_PARAMETERS, NON_STATISTIC_BUFFERS, UNUSED_PARAMETERS = "hidden_parameters", "non_statistic_buffers", "unused_parameters"
UNUSED_LAYER, UNUSED_RESULT, DROPOUT_INACTIVE, FEATURE_WITHOUT_EFFECT = "unused_layer", "unused_result", "dropout_inactive", "feature_without_effect"
PROBABILITIES_OUTPUT, MODEL_CLASS_GUESSED, UNTRUSTED_TRAINING = "probabilities_output", "model_class_guessed", "untrusted_training"
WEAK_ISOLATION = "weak_isolation"  # on every grade whose worker ran without bubblewrap
OBJECT = "object"  # ModelChoice.rule of a model object from the student's own Python session (grader.notebook), not a file


@dataclass(frozen=True)
class ParameterCount:
    total: int  # registered parameters
    trainable: int  # registered parameters with requires_grad
    buffers_extra: int  # buffers that are not normalization statistics
    hidden: int  # trainable tensors the forward pass used but the module never registered
    counted: int  # what the parameter criterion judges: total + buffers_extra + hidden


@dataclass(frozen=True)
class Flag:
    id: str  # pretrained_weights | hidden_parameters | non_statistic_buffers | unused_layer | ...
    message: str  # what was found and how to fix it


WEAK_ISOLATION_FLAG = Flag(WEAK_ISOLATION, "graded with process isolation only (bubblewrap did not work here): the "
                                           "submission could read files the grader's user can read, the MNIST labels "
                                           "included; regrade with --isolation strict before trusting this grade")


def isolation_flags(applied: str) -> tuple[Flag, ...]:
    """The flags a grade carries for the isolation it ran under (protocol.BWRAP, PROCESS or NONE)."""
    return (WEAK_ISOLATION_FLAG,) if applied == PROCESS else ()


@dataclass(frozen=True)
class Layer:
    name: str
    type: str
    output_shape: tuple[int, ...] | None
    parameters: int
    receptive_field: int | None


@dataclass(frozen=True)
class Architecture:
    batchnorm: bool  # each: true only when the operation really ran in a training-mode forward pass
    dropout: bool
    gap: bool
    fc: bool
    receptive_field: int  # pixels, at the last spatial layer (before global pooling or flattening)
    output_kind: str  # logits | log_probs | probabilities


@dataclass(frozen=True)
class Inspection:
    model_class: str
    parameters: ParameterCount
    architecture: Architecture
    layers: tuple[Layer, ...]
    summary: str  # torchinfo's table
    flags: tuple[Flag, ...]
    notes: tuple[str, ...]
    effects: dict[str, float] = field(default_factory=dict)  # each feature's measured effect on the logits (when a trainer ran)
    graph_sha256: str = ""  # the exported graph's fingerprint, parameters' values aside (grader.graph.format.fingerprint); "" when not exported
    mflops_per_image: float | None = None  # one image's training step, forward and backward (grader.inspect.cost); None when not exported


@dataclass(frozen=True)
class EpochRecord:
    epoch: int
    train_loss: float
    validation_accuracy: float  # percent
    test_accuracy: float  # percent
    seconds: float  # training time since the start of epoch 1


@dataclass(frozen=True)
class SeedRun:
    """One training run of the grade: the recipe with this seed."""

    seed: int
    validation_accuracy: float  # percent, at the last epoch
    test_accuracy: float
    seconds: float
    history: tuple[EpochRecord, ...]


@dataclass(frozen=True)
class Training:
    epochs: int
    device: str
    seconds: float  # the first run's
    history: tuple[EpochRecord, ...]  # the first run's; every run is in `runs`
    trained_by: str = "graph"  # graph: the exported graph, by the trusted trainer; eager: the submission's own code
    runs: tuple[SeedRun, ...] = ()  # every run, the first one first; the accuracy criteria judge their mean
    borderline: bool = False  # the first pass's mean fell within the rubric's band of an accuracy threshold: more seeds decide
    pending_runs: int = 0  # borderline seeds not run yet (a batch runs them in its second pass, after the whole class)

    @property
    def histories(self) -> tuple[tuple[EpochRecord, ...], ...]:
        """Every run's epochs, the first run's first: what the accuracy criteria judge."""
        return tuple(r.history for r in self.runs)

    def spread(self, metric: str) -> tuple[float, float]:
        """(mean, sample standard deviation) of the runs' final `metric` (validation_accuracy | test_accuracy); 0 for one run."""
        values = [getattr(r, metric) for r in self.runs]
        mean = sum(values) / len(values)
        sd = (sum((v - mean) ** 2 for v in values) / (len(values) - 1)) ** 0.5 if len(values) > 1 else 0.0
        return mean, sd


@dataclass(frozen=True)
class PerturbationEffect:
    """How much better the trained model is on the exact public images it is graded on than on their perturbed copies."""

    kind: str  # the perturbation of the copies (grader.evaluation_set.Perturbation.kind)
    canaries: int  # images sent twice, after the last epoch: with their exact public pixels and perturbed (every evaluation image)
    canary_accuracy: float  # percent, last epoch, on the exact images
    perturbed_accuracy_on_canaries: float  # percent, last epoch, on their perturbed copies
    effect_points: float  # canary_accuracy - perturbed_accuracy_on_canaries; an honest model: about 0
    threshold_points: float  # above this the model is flagged answers_looked_up (a floor, or 3 standard errors)


@dataclass(frozen=True)
class Metrics:
    validation_accuracy: float | None  # percent, at the last epoch, on the exact images; the mean when several seeds ran
    test_accuracy: float | None
    accuracy_before_training: float | None  # validation accuracy of the untrained model
    perturbation: PerturbationEffect | None = None  # None when nothing was trained


@dataclass(frozen=True)
class LayerActivation:
    layer: str
    type: str
    mean: float  # over 256 validation images, eval mode, after training
    std: float
    sparsity: float  # fraction of exact zeros (dead or ReLU-clipped units)


@dataclass(frozen=True)
class FeatureMaps:
    layer: str
    maps: np.ndarray  # (C, H, W) float: this conv layer's output for the sample digit


@dataclass(frozen=True)
class Mistake:
    index: int  # in the official test set
    label: int
    predicted: int
    image: np.ndarray  # (28, 28) uint8


@dataclass(frozen=True)
class Diagnostics:
    """Where the trained model goes wrong, and what it does inside."""

    confusion: tuple[tuple[int, ...], ...]  # test set: rows are true digits, columns predictions
    mistakes: tuple[Mistake, ...]  # the first misclassified test digits
    activations: tuple[LayerActivation, ...]
    feature_maps: tuple[FeatureMaps, ...]
    sample_image: np.ndarray  # (28, 28) uint8: the digit the feature maps show
    sample_label: int


@dataclass(frozen=True)
class CriterionResult:
    id: str
    passed: bool
    points: float
    max_points: float
    detail: str
    ran: bool = True  # false for the accuracy criterion under `grader check`
    borderline: bool = False  # an accuracy criterion whose first pass's mean fell within the rubric's band of its threshold
    metric: str = ""  # accuracy criteria: the metric judged (validation_accuracy | test_accuracy); "" for the structural ones


@dataclass(frozen=True)
class Argument:
    """One argument the model is built with, as plain data (grader.load.arguments): never code."""

    literal: str = ""  # a Python literal's text, for ast.literal_eval: numbers, strings, bools, None, tuples and lists of them
    constant: str = ""  # or the name of a module-level constant of the model's file, bound by the loading rule


@dataclass(frozen=True)
class ConstructorCall:
    """The call the model is built with: the one the student's notebook or script makes, or the one the option gives."""

    text: str  # as written: "Net2(drop=0.01)"
    where: str  # "s6_net_final.ipynb [cell 7], line 2", or "--model-class"
    args: tuple[Argument, ...]
    kwargs: tuple[tuple[str, Argument], ...]


@dataclass(frozen=True)
class ModelChoice:
    """Which file and class of the submission were graded, the step of the rule and the signal that decided
    (grader.load.choose), and how the model is built."""

    file: str  # relative to the submission's folder
    model_class: str
    rule: str  # option | imported | instantiated | defined; OBJECT for an object of the student's session (file: where Python
    #            says its class is defined, "" when it does not know)
    reason: str  # that step in words: "imported and instantiated by S7_3.ipynb"
    guessed: bool  # several versions of the model were left, and the documented preference picked one
    others: tuple[str, ...]  # the other candidates at the deciding step, as file:Class
    signal: str = ""  # what told the versions apart (grader.load.signals): readme | name | file | number | position |
    #                   structure | order (nothing did); option for --model-class; "" when there was one candidate
    constructor: ConstructorCall | None = None  # None: built with no arguments
    notes: tuple[str, ...] = ()  # for the report: a call whose arguments could not be copied
    tied: tuple[ModelChoice, ...] = ()  # versions no signal told apart, this one first, each as it would be chosen:
    #                                      grader.tiebreak checks each; () once decided


@dataclass(frozen=True)
class StageError:
    stage: str  # load | inspect | train | evaluate | grader (grader.protocol: the grader itself failed, not the submission)
    message: str  # one line for the student
    traceback: str


@dataclass(frozen=True)
class Environment:
    python: str
    torch: str
    device: str
    isolation: str  # bwrap | process | none (grader.sandbox.isolation's BWRAP, PROCESS, NONE)
    seed: int  # the first run's; the others are seed + 1, ...
    cpu: str = ""  # the processor's name: with the device line, the kind of machine whose arithmetic trained it (grader.numerics)
    machine: str = ""  # x86_64, aarch64, ...

    @property
    def machine_kind(self) -> str:
        """What every report names as where a grade was computed: the device line (threads and kernels, or the GPU)
        and, on a CPU, the processor."""
        cpu = f" on {self.cpu}" if self.cpu and self.device.startswith("cpu") else ""
        return f"{self.device or 'no training'}{cpu}"


@dataclass(frozen=True)
class Reference:
    validation_accuracy: float
    test_accuracy: float
    parameters: int
    history: tuple[float, ...]  # validation accuracy per epoch, averaged over the reference's seeds


@dataclass(frozen=True)
class Grade:
    submission_path: str
    submission_sha256: str
    rubric_path: str
    rubric_sha256: str
    rubric_title: str
    mode: str  # check | grade
    provisional: tuple[str, ...]  # why this run deviated from the rubric's recipe; empty when it did not
    environment: Environment
    error: StageError | None
    inspection: Inspection | None
    training: Training | None
    metrics: Metrics
    criteria: tuple[CriterionResult, ...]
    score: float
    max_score: float
    reference: Reference | None
    diagnostics: Diagnostics | None
    seconds: float
    output: str  # the tail of what the submission printed
    model: ModelChoice | None = None  # which file and class were graded, and why; None when none could be chosen

    @property
    def status(self) -> str:
        return "error" if self.error else "graded"

    @property
    def flags(self) -> tuple[Flag, ...]:
        """The inspection's flags, then the isolation's (weak_isolation when no bubblewrap): what every report lists."""
        return (self.inspection.flags if self.inspection else ()) + isolation_flags(self.environment.isolation)

    @property
    def borderline(self) -> bool:
        """The accuracy was too close to the threshold for one run to decide: more seeds ran (or are pending)."""
        return bool(self.training and self.training.borderline)

    @property
    def passed(self) -> bool:
        """Every criterion that ran passed, and nothing failed."""
        return self.error is None and all(c.passed for c in self.criteria if c.ran)

    @property
    def verdict(self) -> str:
        """The one-word outcome every report leads with: "error", "pass" or "fail"."""
        return "error" if self.error else "pass" if self.passed else "fail"

    @property
    def points_not_run(self) -> float:
        """The points of criteria this run could not judge (accuracy, in a check)."""
        return sum(c.max_points for c in self.criteria if not c.ran)

    @property
    def self_check(self) -> bool:
        """A self-check of an object from the student's own session (grader.check(Net) in a notebook), not of handed-in files."""
        return self.model is not None and self.model.rule == OBJECT
