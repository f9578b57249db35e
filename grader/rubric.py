"""Rubric files: the instructor's fixed training recipe and the criteria, read strictly from TOML."""

from __future__ import annotations

import dataclasses
import hashlib
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from grader.bundled import bundled_file
from grader.errors import RubricError


@dataclass(frozen=True)
class Optimizer:
    name: str = "sgd"  # sgd | adam | adamw
    lr: float = 0.01  # initial learning rate (OneCycle overrides it with max_lr / div_factor)
    momentum: float = 0.9  # SGD only
    nesterov: bool = True  # SGD only
    weight_decay: float = 5e-4  # L2 penalty per step


@dataclass(frozen=True)
class Scheduler:
    name: str = "onecycle"  # onecycle | step | cosine | constant
    max_lr: float = 0.1  # onecycle: peak learning rate
    pct_start: float = 0.25  # onecycle: fraction of steps spent warming up
    step_epochs: int = 10  # step: epochs between decays
    gamma: float = 0.1  # step: decay factor


@dataclass(frozen=True)
class Augment:
    rotate_degrees: float = 5.0  # uniform in [-d, +d], drawn per image
    translate_pixels: float = 1.0  # uniform shift in [-p, +p] pixels per axis, per image
    scale: float = 0.05  # uniform zoom in [1 - s, 1 + s], per image


@dataclass(frozen=True)
class Split:
    train: int = 50_000  # training images taken from the official training set
    validation: int = 10_000  # held out from the official training set, never trained on
    seed: int = 0  # seed of the permutation that chooses them


@dataclass(frozen=True)
class Recipe:
    epochs: int = 19  # full passes over the training split; also the cap for --epochs
    batch_size: int = 128  # images per optimizer step
    optimizer: Optimizer = field(default_factory=Optimizer)
    scheduler: Scheduler = field(default_factory=Scheduler)
    augment: Augment = field(default_factory=Augment)
    split: Split = field(default_factory=Split)
    label_smoothing: float = 0.0  # cross-entropy target smoothing
    seed: int = 1  # seeds weight initialization, shuffling, augmentation and dropout


@dataclass(frozen=True)
class Seeds:
    """How many training runs decide the accuracy criteria: they judge the mean of the runs (seeds recipe.seed, + 1, ...)."""

    runs: int = 1  # every grade
    borderline_runs: int = 3  # in all, when the mean of the first runs is within `band` of an accuracy threshold
    band: float = 0.15  # points either side of at_least; about 2.5 times one run's measured seed-to-seed spread (README)


@dataclass(frozen=True)
class Limits:
    load_seconds: float = 60.0  # wall clock for importing and constructing the model
    inspect_seconds: float = 60.0  # wall clock for the traced forward pass and the summary
    epoch_seconds: float = 600.0  # wall clock for one training epoch with its evaluation
    memory_gb: float = 8.0  # the worker's data segment (RLIMIT_DATA)
    output_mb: float = 4.0  # what the submission may print; the rest is dropped
    disk_mb: float = 1024.0  # what the worker may add to its job folder; under bwrap also the size of each tmpfs (/tmp, $TMPDIR, $HOME)
    processes: int = 512  # the worker's processes and threads (torch's pools, DataLoader workers): RLIMIT_NPROC, a cgroup's pids.max
    mflops_per_image: float = 300.0  # one image's training step, forward + backward (grader.inspect.cost): 18x the reference's, room for every real one (README)


@dataclass(frozen=True)
class Criterion:
    id: str
    points: float
    metric: str = ""  # accuracy criteria: validation_accuracy | test_accuracy
    at_least: float | None = None  # accuracy criteria: percent
    mode: str = "final"  # accuracy criteria: final | best | min_last_3
    partial_from: float | None = None  # accuracy criteria: linear partial credit starts here
    less_than: int | None = None  # parameter criterion: counted parameters must be below
    uses: tuple[str, ...] = ()  # architecture criteria: batchnorm | dropout | gap | fc, all of them
    uses_any: tuple[str, ...] = ()  # architecture criteria: at least one of them


@dataclass(frozen=True)
class Rubric:
    title: str
    recipe: Recipe
    criteria: tuple[Criterion, ...]
    limits: Limits = field(default_factory=Limits)
    seeds: Seeds = field(default_factory=Seeds)
    fail_on_flags: tuple[str, ...] = ()  # flags that zero the score (e.g. pretrained_weights)
    model_class: str = ""  # name of the model class; empty means the loader's rule decides
    path: str = ""
    sha256: str = ""

    @property
    def max_score(self) -> float:
        return float(sum(c.points for c in self.criteria))


ARCHITECTURE_FEATURES = ("batchnorm", "dropout", "gap", "fc")
ACCURACY_METRICS = ("validation_accuracy", "test_accuracy")
ACCURACY_MODES = ("final", "best", "min_last_3")
DEFAULT_RUBRIC = bundled_file("rubrics", "mnist-99.4.toml")  # package data: the same file in a checkout and a wheel


def load_rubric(path: str | Path) -> Rubric:
    """Read a rubric file; any unknown key or wrong type raises RubricError naming it."""
    path = Path(path)
    try:
        raw = path.read_bytes()
        data = tomllib.loads(raw.decode("utf-8"))
    except FileNotFoundError:
        raise RubricError(f"rubric file {path} does not exist") from None
    except OSError as e:
        raise RubricError(f"cannot read rubric file {path}: {e.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise RubricError(f"{path}: not valid TOML ({e})") from None
    where = str(path)
    recipe = _build(Recipe, data.pop("recipe", {}), f"{where} [recipe]")
    if not isinstance(data.get("criteria", []), list):
        raise RubricError(f"{where}: 'criteria' must be an array of tables ([[criteria]])")
    criteria = tuple(
        _check_criterion(_build(Criterion, c, f"{where} [[criteria]] #{i + 1}"), where)
        for i, c in enumerate(data.pop("criteria", []))
    )
    if not criteria:
        raise RubricError(f"{where}: a rubric needs at least one [[criteria]] table")
    rubric = _build(Rubric, {**data, "recipe": recipe, "criteria": criteria}, where)
    _check_recipe(rubric.recipe, where)
    _check_seeds(rubric.seeds, where)
    return dataclasses.replace(rubric, path=str(path), sha256=hashlib.sha256(raw).hexdigest())


def recipe_from_dict(values: dict) -> Recipe:
    """The inverse of dataclasses.asdict for a Recipe (how the recipe travels to the worker)."""
    return _build(Recipe, values, "recipe")


def _build(cls, values, where: str):
    """Construct dataclass `cls` from a TOML table, checking every key and type."""
    if not isinstance(values, dict):
        raise RubricError(f"{where}: expected a table, got {type(values).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = {f.name: f.type for f in fields.values()}
    kwargs = {}
    for key, value in values.items():
        if key not in fields or key in ("path", "sha256"):
            raise RubricError(f"{where}: unknown key '{key}' (expected one of {', '.join(k for k in fields if k not in ('path', 'sha256'))})")
        kwargs[key] = _coerce(value, hints[key], f"{where}: '{key}'")
    missing = [n for n, f in fields.items() if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING and n not in kwargs]
    if missing:
        raise RubricError(f"{where}: missing required key '{missing[0]}'")
    return cls(**kwargs)


_NESTED = {"Optimizer": Optimizer, "Scheduler": Scheduler, "Augment": Augment, "Split": Split, "Limits": Limits, "Seeds": Seeds}


def _coerce(value, hint: str, where: str):
    """Check one TOML value against a dataclass field's annotation (kept as a string)."""
    if hint in _NESTED:
        return _build(_NESTED[hint], value, where)
    if hint in ("Recipe", "tuple[Criterion, ...]"):
        return value  # built by the caller
    if hint == "tuple[str, ...]":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise RubricError(f"{where} must be a list of strings")
        return tuple(value)
    expected = {"str": str, "int": int, "bool": bool, "float": (int, float), "float | None": (int, float), "int | None": int}[hint]
    if isinstance(value, bool) and hint != "bool" or not isinstance(value, expected):
        raise RubricError(f"{where} must be {hint.replace(' | None', '')}, got {value!r}")
    return float(value) if "float" in hint else value


def _check_criterion(c: Criterion, where: str) -> Criterion:
    def bad(msg):
        return RubricError(f"{where}: criterion '{c.id}': {msg}")

    if c.metric:
        if c.metric not in ACCURACY_METRICS:
            raise bad(f"metric must be one of {', '.join(ACCURACY_METRICS)}")
        if c.at_least is None:
            raise bad("an accuracy criterion needs 'at_least'")
        if c.mode not in ACCURACY_MODES:
            raise bad(f"mode must be one of {', '.join(ACCURACY_MODES)}")
        if c.partial_from is not None and c.partial_from >= c.at_least:
            raise bad("'partial_from' must be below 'at_least'")
    elif c.less_than is None and not c.uses and not c.uses_any:
        raise bad("needs 'metric', 'less_than', 'uses' or 'uses_any'")
    for feature in c.uses + c.uses_any:
        if feature not in ARCHITECTURE_FEATURES:
            raise bad(f"unknown feature '{feature}' (expected {', '.join(ARCHITECTURE_FEATURES)})")
    if c.points < 0:
        raise bad("points must not be negative")
    return c


def _check_recipe(r: Recipe, where: str) -> None:
    checks = [
        (r.optimizer.name in ("sgd", "adam", "adamw"), "[recipe] optimizer.name must be sgd, adam or adamw"),
        (r.scheduler.name in ("onecycle", "step", "cosine", "constant"), "[recipe] scheduler.name must be onecycle, step, cosine or constant"),
        (1 <= r.epochs, "[recipe] epochs must be at least 1"),
        (2 <= r.batch_size, "[recipe] batch_size must be at least 2"),
        (r.split.train > 0 and r.split.validation > 0, "[recipe] split.train and split.validation must be positive"),
        (0 <= r.label_smoothing < 1, "[recipe] label_smoothing must be in [0, 1)"),
    ]
    for ok, message in checks:
        if not ok:
            raise RubricError(f"{where}: {message}")


def _check_seeds(s: Seeds, where: str) -> None:
    if s.runs < 1 or s.borderline_runs < s.runs:
        raise RubricError(f"{where}: [seeds] runs must be at least 1 and borderline_runs at least runs")
    if s.band < 0:
        raise RubricError(f"{where}: [seeds] band must not be negative")
