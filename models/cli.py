"""Command line for the learning core: ``pretrain``, ``train``, ``predict``.

Mounted into the ``maskloop`` CLI by the service; also runs as ``python -m models``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from tqdm import tqdm

from models.checkpoint import Checkpoint
from models.config import INSTANCE_TARGETS, KINDS, PretrainConfig, Progress, TrainConfig
from models.data import accepts_channels, infer_in_channels
from models.device import resolve_device
from models.inference import check_ensemble
from models.inference import predict as predict_image
from models.io import IMAGE_SUFFIXES, list_images, read_image, read_label, write_label
from models.postprocess import MIN_OBJECT_CONFIDENCE
from models.pretext import PRETEXTS
from models.training import pretrain as run_pretrain
from models.training import train as run_train

app = typer.Typer(
    help="Self-supervised pretraining, fine-tuning and prediction.", no_args_is_help=True
)

ImagesOpt = Annotated[Path, typer.Option("--images", help="Directory of images (png, jpg, tif).")]
DeviceOpt = Annotated[str, typer.Option("--device", help="auto, cpu, cuda or cuda:N.")]
MinutesOpt = Annotated[float | None, typer.Option("--minutes", help="Wall-clock budget.")]
BatchOpt = Annotated[int, typer.Option("--batch-size", help="Crops per step.")]
CropOpt = Annotated[int, typer.Option("--crop-size", help="Crop side, a multiple of 16.")]


def _fail(message: str) -> typer.Exit:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(code=2)


def _load_images(directory: Path) -> tuple[list[str], list[np.ndarray]]:
    try:
        paths = list_images(directory)
    except (FileNotFoundError, ValueError) as error:
        raise _fail(str(error)) from error
    if not paths:
        raise _fail(f"no images (png, jpg, tif) in {directory}")
    images = []
    for stem, path in tqdm(paths.items(), desc="reading images", unit="img", leave=False):
        try:
            images.append(read_image(path))
        except (OSError, ValueError) as error:
            raise _fail(f"cannot read {path}: {error}") from error
        del stem
    return list(paths), images


def _load_masks(directory: Path, stems: list[str], images: list[np.ndarray]) -> list[np.ndarray]:
    try:
        paths = list_images(directory)
    except (FileNotFoundError, ValueError) as error:
        raise _fail(str(error)) from error
    missing = [s for s in stems if s not in paths]
    if missing:
        raise _fail(
            f"no mask with the stem of {len(missing)} image(s) in {directory}: {missing[:5]}"
        )
    masks = []
    for stem, image in zip(stems, images, strict=True):
        try:
            mask = read_label(paths[stem])
        except (OSError, ValueError) as error:
            raise _fail(f"cannot read mask {paths[stem]}: {error}") from error
        if mask.shape != image.shape[:2]:
            raise _fail(
                f"mask {stem} is {mask.shape[1]}x{mask.shape[0]}, its image "
                f"{image.shape[1]}x{image.shape[0]}"
            )
        masks.append(mask)
    return masks


def _check_fit(
    stems: list[str], images: list[np.ndarray], in_channels: int, option: str, taker: str
) -> None:
    """Refuse, before training, an image the network could not take (found only after the
    whole budget otherwise)."""
    for stem, image in zip(stems, images, strict=True):
        channels = 1 if image.ndim == 2 else int(image.shape[-1])
        if not accepts_channels(in_channels, channels):
            raise _fail(f"{option}: {stem} has {channels} channels and {taker} takes {in_channels}")


def _device(name: str) -> None:
    """Refuse a device this machine lacks before reading images or training."""
    try:
        resolve_device(name)
    except ValueError as error:
        raise _fail(f"--device: {error}") from error


def _output_file(out: Path) -> None:
    """Refuse an --out that cannot be written before the work, not after it."""
    if out.is_dir():
        raise _fail(f"--out {out} is a directory; give a file name such as {out / 'model.pt'}")
    if out.suffix.lower() in IMAGE_SUFFIXES:
        # It would replace an image (the images folder is a natural place to mistype).
        raise _fail(f"--out {out} names an image file; checkpoints are written as NAME.pt")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise _fail(f"--out: cannot create the folder {out.parent}: {error}") from error
    if not os.access(out.parent, os.W_OK):
        raise _fail(f"--out: the folder {out.parent} is not writable")


def _progress_bar(desc: str, total: int | None) -> tuple[tqdm, Callable[[Progress], None]]:
    bar = tqdm(total=1000, desc=desc, unit="‰", bar_format="{l_bar}{bar}| {postfix}")

    def update(progress: Progress) -> None:
        bar.n = int(1000 * progress.fraction)
        shown = {k: f"{v:.3f}" for k, v in progress.metrics.items() if k != "val_epoch"}
        bar.set_postfix(step=progress.step, **shown, refresh=False)
        bar.refresh()

    return bar, update


def _budget(minutes: float | None, steps: int | None, name: str) -> None:
    if minutes is not None and not 0 < minutes < math.inf:
        raise _fail(f"--minutes must be a finite number > 0, got {minutes}")
    if steps is not None and steps <= 0:
        raise _fail(f"--{name} must be > 0, got {steps}")


@app.command()
def pretrain(
    images: ImagesOpt,
    out: Annotated[Path, typer.Option("--out", help="Encoder checkpoint to write (ENC.pt).")],
    method: Annotated[
        str, typer.Option("--method", help=f"One of {', '.join(PRETEXTS)}.")
    ] = "masked",
    minutes: MinutesOpt = None,
    steps: Annotated[int | None, typer.Option("--steps", help="Step budget.")] = None,
    encoder: Annotated[str, typer.Option("--encoder")] = "small",
    batch_size: BatchOpt = 8,
    crop_size: CropOpt = 128,
    device: DeviceOpt = "auto",
    seed: Annotated[int, typer.Option("--seed")] = 0,
) -> None:
    """Self-supervised pretraining on a directory of unlabeled images."""
    if method not in PRETEXTS:
        raise _fail(f"unknown method {method!r}; choose one of {', '.join(PRETEXTS)}")
    _budget(minutes, steps, "steps")
    _device(device)
    _output_file(out)
    _, loaded = _load_images(images)
    try:
        config = PretrainConfig(
            method=method,
            encoder=encoder,
            in_channels=infer_in_channels(loaded),
            steps=steps,
            minutes=minutes,
            batch_size=batch_size,
            crop_size=crop_size,
            device=device,
            seed=seed,
        )
    except ValueError as error:
        raise _fail(str(error)) from error
    bar, update = _progress_bar(f"pretrain {method}", config.steps)
    with bar:
        checkpoint = run_pretrain(loaded, config, on_progress=update)
    checkpoint.save(out)
    typer.echo(
        f"wrote {out} ({checkpoint.config['steps']} steps, in_channels={config.in_channels})"
    )


def _load_init(init: str) -> Checkpoint | None:
    if init.lower() in ("none", "scratch"):
        return None
    try:
        return Checkpoint.load(init)
    except (FileNotFoundError, ValueError) as error:
        raise _fail(f"--init: {error}") from error


@app.command()
def train(
    images: ImagesOpt,
    masks: Annotated[Path, typer.Option("--masks", help="Label images with the images' stems.")],
    kind: Annotated[str, typer.Option("--kind", help="instance or semantic.")],
    out: Annotated[Path, typer.Option("--out", help="Model checkpoint to write (MODEL.pt).")],
    init: Annotated[str, typer.Option("--init", help="ENC.pt, MODEL.pt or none.")] = "none",
    minutes: MinutesOpt = None,
    epochs: Annotated[int | None, typer.Option("--epochs", help="Epoch budget.")] = None,
    num_classes: Annotated[
        int | None,
        typer.Option(
            "--num-classes", help="Semantic: classes incl. background (default: max label + 1)."
        ),
    ] = None,
    steps_per_epoch: Annotated[int, typer.Option("--steps-per-epoch")] = 50,
    batch_size: BatchOpt = 8,
    crop_size: CropOpt = 128,
    device: DeviceOpt = "auto",
    seed: Annotated[int, typer.Option("--seed")] = 0,
    unlabeled: Annotated[
        Path | None,
        typer.Option(
            "--unlabeled",
            help="Semantic: unlabeled images of the same kind; the model matches the labeled "
            "class shares on them (prior matching). Never a test set.",
        ),
    ] = None,
    contact_weight: Annotated[
        float,
        typer.Option(
            "--contact-weight",
            help="Instance: extra loss weight on the line between touching objects (0 = off; "
            "5 cut merged nuclei on dsb2018 at 16 labels, over-split at 4).",
        ),
    ] = 0.0,
    instance_target: Annotated[
        str,
        typer.Option(
            "--instance-target",
            help="Instance: boundary (3 classes) or core (a 4th class, the object's inner half, "
            "seeds the split; fewer merged nuclei on dsb2018 at 16 labels, over-split at 4).",
        ),
    ] = "boundary",
) -> None:
    """Fine-tune a segmenter on images and their label images."""
    if kind not in KINDS:
        raise _fail(f"unknown kind {kind!r}; use instance or semantic")
    if instance_target not in INSTANCE_TARGETS:
        raise _fail(
            f"unknown --instance-target {instance_target!r}; use {' or '.join(INSTANCE_TARGETS)}"
        )
    _budget(minutes, epochs, "epochs")
    _device(device)
    _output_file(out)
    start = _load_init(init)
    stems, loaded = _load_images(images)
    label_images = _load_masks(masks, stems, loaded)
    pool_stems, pool = _load_images(unlabeled) if unlabeled is not None else ([], None)
    if start is not None:
        in_channels, encoder = int(start.config["in_channels"]), str(start.config["encoder"])
        _check_fit(stems, loaded, in_channels, "--images", "the --init checkpoint")
    else:
        try:
            in_channels, encoder = infer_in_channels(loaded), "small"
        except ValueError as error:
            raise _fail(f"--images: {error}; one model takes one channel layout") from error
    _check_fit(pool_stems, pool or [], in_channels, "--unlabeled", "the model")
    if num_classes is None:
        num_classes = _semantic_classes(label_images) if kind == "semantic" else 2
    try:
        config = TrainConfig(
            kind=kind,
            num_classes=num_classes,
            in_channels=in_channels,
            encoder=encoder,  # type: ignore[arg-type]
            epochs=epochs,
            minutes=minutes,
            steps_per_epoch=steps_per_epoch,
            batch_size=batch_size,
            crop_size=crop_size,
            device=device,
            seed=seed,
            contact_weight=contact_weight,
            instance_target=instance_target,
        )
        bar, update = _progress_bar(f"train {kind}", None)
        with bar:
            checkpoint = run_train(
                loaded, label_images, config, init=start, unlabeled=pool, on_progress=update
            )
    except ValueError as error:
        raise _fail(str(error)) from error
    checkpoint.save(out)
    shown = ", ".join(f"{k}={v:.3f}" for k, v in checkpoint.config["metrics"].items())
    typer.echo(f"wrote {out}; validation ({checkpoint.config['validation']}): {shown}")


def _semantic_classes(masks: list[np.ndarray]) -> int:
    values = np.unique(np.concatenate([np.unique(m) for m in masks]))
    if int(values.max()) >= 255:
        raise _fail(
            f"semantic masks must hold class indices 0..K-1, found values {values[:10].tolist()}; "
            "remap them (e.g. 0/255 -> 0/1) or pass --num-classes"
        )
    return max(2, int(values.max()) + 1)


@app.command()
def predict(
    model: Annotated[
        list[Path],
        typer.Option(
            "--model",
            help="Model checkpoint (MODEL.pt); give it more than once to average several models.",
        ),
    ],
    images: ImagesOpt,
    out: Annotated[Path, typer.Option("--out", help="Directory for label images (.png).")],
    tta: Annotated[bool, typer.Option("--tta", help="Average over flips.")] = False,
    min_object_confidence: Annotated[
        float,
        typer.Option(
            "--min-object-confidence",
            min=0.0,
            max=1.0,
            help="Instance models: leave out objects whose mean confidence is lower (0 keeps all).",
        ),
    ] = MIN_OBJECT_CONFIDENCE,
    device: DeviceOpt = "auto",
) -> None:
    """Write one label image per input image (same stem, .png; 16-bit above 255 labels)."""
    checkpoints = []
    for path in model:
        try:
            checkpoint = Checkpoint.load(path)
        except (FileNotFoundError, ValueError) as error:
            raise _fail(f"--model: {error}") from error
        if checkpoint.role != "segmenter":
            raise _fail(f"--model: {path} is a pretraining checkpoint; train a model from it first")
        checkpoints.append(checkpoint)
    try:
        check_ensemble(checkpoints)
    except ValueError as error:
        raise _fail(f"--model: {error}") from error
    _device(device)
    if out.exists() and not out.is_dir():
        raise _fail(f"--out {out} is a file; give a folder for the label images")
    if out.resolve() == images.resolve():
        raise _fail(
            "--out is the --images folder: label images are written as STEM.png and would "
            "replace the images; give another folder"
        )
    stems, loaded = _load_images(images)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise _fail(f"--out: cannot create {out}: {error}") from error
    written = 0
    try:
        for stem, image in tqdm(list(zip(stems, loaded, strict=True)), desc="predict", unit="img"):
            try:
                prediction = predict_image(
                    checkpoints,
                    image,
                    tta=tta,
                    device=device,
                    min_object_confidence=min_object_confidence,
                )
                write_label(out / f"{stem}.png", prediction.labels)
            except (ValueError, OSError) as error:  # an image it cannot take; a full disk
                so_far = f"{written} label image(s) written to {out}"
                raise _fail(f"{stem}: {error} ({so_far})") from error
            written += 1
    except KeyboardInterrupt:
        # Each file is whole (written through a rename); say how far it got.
        typer.secho(
            f"interrupted: {written} of {len(stems)} label image(s) written to {out}", err=True
        )
        raise typer.Exit(code=130) from None
    typer.echo(f"wrote {len(stems)} label image(s) to {out}")
