"""Prints prediction time for one image on this machine: ``python -m models.speed [--size 1024]``.

The network is randomly initialised (speed does not depend on the weights); the image holds
synthetic nuclei so post-processing does real work.
"""

from __future__ import annotations

import statistics
import time
from typing import Annotated

import numpy as np
import torch
import typer
from skimage.draw import disk

from models.checkpoint import Checkpoint
from models.device import resolve_device
from models.inference import predict
from models.networks import build_segmenter


def _synthetic(size: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    image = rng.normal(20, 5, (size, size))
    for _ in range(size * size // 2000):
        rr, cc = disk(tuple(rng.integers(0, size, 2)), int(rng.integers(4, 12)), shape=image.shape)
        image[rr, cc] = 180
    return image.clip(0, 255).astype(np.uint8)


def prediction_times(
    encoder: str,
    size: int,
    repeats: int,
    *,
    tta: bool = False,
    device: str = "cpu",
    net: torch.nn.Module | None = None,
) -> list[float]:
    """Seconds per prediction of one ``size`` x ``size`` synthetic image, ``repeats`` times, after
    one untimed call that builds and caches the network."""
    net = net if net is not None else build_segmenter(encoder, 1, 3)
    config = {
        "role": "segmenter",
        "encoder": encoder,
        "in_channels": 1,
        "out_channels": 3,
        "kind": "instance",
    }
    model = Checkpoint(config, net.state_dict())
    image = _synthetic(size)
    predict(model, image, tta=tta, device=device)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        predict(model, image, tta=tta, device=device)
        times.append(time.perf_counter() - start)
    return times


def main(
    size: Annotated[int, typer.Option(help="Image side in pixels.", min=16)] = 1024,
    encoder: Annotated[str, typer.Option(help="Encoder name.")] = "small",
    repeats: Annotated[int, typer.Option(help="Timed calls.", min=1)] = 10,
    threads: Annotated[int, typer.Option(help="torch CPU threads (0: leave as is).", min=0)] = 0,
    tta: Annotated[bool, typer.Option(help="Flip test-time augmentation.")] = False,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda.")] = "cpu",
) -> None:
    try:
        resolve_device(device)
        net = build_segmenter(encoder, 1, 3)
    except ValueError as error:
        typer.secho(f"error: {error}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    if threads:
        torch.set_num_threads(threads)
    times = prediction_times(encoder, size, repeats, tta=tta, device=device, net=net)
    typer.echo(
        f"predict {size}x{size} encoder={encoder} tta={tta} device={device} "
        f"threads={torch.get_num_threads()}: median {statistics.median(times):.3f} s, "
        f"best {min(times):.3f} s over {repeats} calls"
    )


if __name__ == "__main__":
    typer.run(main)
