from __future__ import annotations

import numpy as np
import pytest
import torch

from models.pretext import PRETEXTS, build_pretext


def _batch(method: str) -> torch.Tensor:
    """One (1, 1, 64, 64) crop; rotation gets four copies of an asymmetric one (a ramp and a
    bright corner), so each step sees several rotations."""
    rng = np.random.default_rng(0)
    image = rng.normal(0.2, 0.05, (64, 64)).astype(np.float32)
    yy, xx = np.mgrid[:64, :64]
    image[(yy - 20) ** 2 + (xx - 30) ** 2 < 80] = 1.0
    if method == "rotation":
        image = (image + yy / 64.0).astype(np.float32)
        image[:12, :12] = 2.0
        return torch.from_numpy(image)[None, None].repeat(4, 1, 1, 1)
    return torch.from_numpy(image)[None, None]


@pytest.mark.parametrize("method", sorted(PRETEXTS))
def test_pretext_loss_falls_on_tiny_set(method: str) -> None:
    torch.manual_seed(0)
    pretext = build_pretext(method, "small", 1).train()
    optimizer = torch.optim.Adam(pretext.parameters(), lr=2e-3)
    batch = _batch(method)
    losses = []
    for _ in range(40):
        loss = pretext(batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert np.mean(losses[-5:]) < 0.8 * np.mean(losses[:5]), losses


def test_build_pretext_rejects_unknown_method() -> None:
    with pytest.raises(ValueError, match="unknown pretext method 'jigsaw'"):
        build_pretext("jigsaw", "small", 1)
