"""The trusted trainer: the exported graph, rebuilt, probed, trained and evaluated by the grader's own code alone.

It never sees the submission's files: it reads the typed graph the parent wrote and the data, and writes
the gradient probe, one predictions file per epoch, and the per-layer look inside the trained model.
"""

from __future__ import annotations

from pathlib import Path

import msgspec
from safetensors.numpy import save_file

from grader import protocol as P

PROFILE_IMAGES = 256  # evaluation images behind the per-layer activation statistics


def run(job: Path, request: dict, device, enter) -> None:
    """The trusted part: the exported graph, trained and evaluated by the grader's own code alone. Each feature's
    effect is measured on the initialized model in a check (on random digits: a check has no data) and on the trained
    one in a grade (on real training digits)."""
    import numpy as np
    from safetensors.numpy import load_file

    from grader.graph import build
    from grader.graph import format as fmt
    from grader.rubric import recipe_from_dict

    graph = fmt.decode((job / P.TYPED_GRAPH).read_bytes(), load_file(job / P.TYPED_GRAPH_TENSORS))
    model = build.GraphModel(graph, {int(i): value for i, value in request[P.RESETS].items()}).to(device)
    recipe = recipe_from_dict(request[P.RECIPE])
    build.check_shapes(graph, model, profile_images(job, device)[:4] if request[P.MODE] == P.GRADE else _random_digits(4, device))
    if request[P.MODE] == P.GRADE:
        train_and_report(job, model, recipe, request, device, enter)
        images = np.load(job / P.DATA / "train_images.npy", allow_pickle=False)[: recipe.batch_size]
    else:
        images = _random_images(recipe.batch_size)
    effects = build.feature_effects(graph, model, images, request[P.FEATURES], device)
    (job / P.PROBE).write_bytes(msgspec.json.encode({P.FEATURES: effects}))
    if request[P.MODE] == P.GRADE:
        write_profile(job, *build.activation_profile(graph, model, profile_images(job, device)))


def _random_images(count: int):
    """Digits for a check, which has no data: a feature multiplied by zero shows on noise just as well."""
    import numpy as np

    return np.random.default_rng(0).integers(0, 256, (count, 28, 28), np.uint8)


def _random_digits(count: int, device):
    import torch

    from grader import train

    return train.normalize(torch.from_numpy(_random_images(count))).to(device)


def train_and_report(job: Path, model, recipe, request: dict, device, enter) -> None:
    import numpy as np
    import torch

    from grader import train

    enter("train")  # the model worker's fallback enters training here; each epoch's event follows its predictions
    arrays = {k: np.load(job / P.DATA / f"{k}.npy", allow_pickle=False) for k in P.DATA_FILES}
    torch.manual_seed(recipe.seed)  # dropout draws from the global generator: same start for every run

    def report(result) -> None:
        copies = {} if result.copy_predictions is None else {P.COPY_PREDICTIONS: result.copy_predictions}
        save_file({P.PREDICTIONS: result.predictions, **copies}, job / P.predictions_file(result.epoch))
        enter("train", epoch=result.epoch, train_loss=result.train_loss, first_loss=result.first_loss, seconds=result.seconds)

    train.train(model, arrays["train_images"], arrays["train_labels"], arrays["eval_images"], arrays["copy_images"], recipe,
                request[P.EPOCHS], device, report)


def profile_images(job: Path, device):
    """The first evaluation images, normalized: the sample digit of the report is the first."""
    import numpy as np
    import torch

    from grader import train

    images = np.load(job / P.DATA / "eval_images.npy", allow_pickle=False)[:PROFILE_IMAGES]
    return train.normalize(torch.from_numpy(images)).to(device)


def write_profile(job: Path, stats: list[dict], maps: dict) -> None:
    """A look inside the trained model, for the report: per-layer statistics and each conv layer's maps."""
    import numpy as np

    save_file({f"m{i}": m.numpy().astype(np.float16) for i, m in enumerate(maps.values())}, job / P.FEATURE_MAPS)
    (job / P.ACTIVATIONS).write_bytes(msgspec.json.encode({"stats": stats, "feature_maps": list(maps)}))


