"""Joint-embedding pretraining: VICReg with a dense local term.

Two views of each crop differ by a random flip/90-degree rotation and by intensity and noise. The
global term is VICReg (Bardes et al., 2021, arXiv:2105.04906) on pooled deepest encoder features;
the local term, in the spirit of VICRegL (Bardes et al., 2022, arXiv:2210.01571) and dense
contrastive learning (Wang et al., 2021, arXiv:2011.09157), applies VICReg to decoder features at
matching pixels (the geometric transform is known, so it is undone on the feature maps). The
local term trains the decoder, which fine-tuning then reuses.
"""

from __future__ import annotations

import torch
from torch import nn

from models.losses import VICRegLoss
from models.pretext.base import Pretext


def _geometry(x: torch.Tensor, k: int, flip: bool) -> torch.Tensor:
    x = torch.rot90(x, k, dims=(-2, -1))
    return torch.flip(x, dims=(-1,)) if flip else x


def _undo_geometry(x: torch.Tensor, k: int, flip: bool) -> torch.Tensor:
    x = torch.flip(x, dims=(-1,)) if flip else x
    return torch.rot90(x, -k, dims=(-2, -1))


def _photometric(x: torch.Tensor) -> torch.Tensor:
    """Random per-sample, per-channel gain and offset plus Gaussian noise. Shape kept."""
    b, c = x.shape[:2]
    gain = 0.6 + 0.9 * torch.rand(b, c, 1, 1, device=x.device)
    offset = 0.2 * (torch.rand(b, c, 1, 1, device=x.device) - 0.5)
    sigma = 0.1 * torch.rand(b, 1, 1, 1, device=x.device)
    return x * gain + offset + sigma * torch.randn_like(x)


def _mlp(in_dim: int, hidden: int, out_dim: int) -> nn.Sequential:
    """VICReg's expander shape. Shape: (N, in_dim) -> (N, out_dim)."""
    return nn.Sequential(
        nn.Linear(in_dim, hidden),
        nn.BatchNorm1d(hidden),
        nn.ReLU(inplace=True),
        nn.Linear(hidden, out_dim),
    )


class ContrastivePretext(Pretext):
    name = "contrastive"
    trains_decoder = True

    def __init__(
        self,
        encoder: str,
        in_channels: int,
        dim: int = 128,
        local_points: int = 256,
        local_weight: float = 1.0,
    ) -> None:
        super().__init__(encoder, in_channels)
        if dim < 2 or local_points < 2 or local_weight < 0:
            raise ValueError(f"bad sizes: {dim=}, {local_points=}, {local_weight=}")
        self.expander = _mlp(self.net.encoder.out_channels[-1], 2 * dim, dim)
        self.local_projector = _mlp(self.net.decoder.out_channels, dim, dim)
        self.vicreg = VICRegLoss()
        self.local_points, self.local_weight = local_points, local_weight

    def _embed(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Shape: (B, C, S, S) -> pooled deepest (B, C_last), decoder features (B, C_dec, S, S)."""
        features = self.net.encoder(x)
        return features[-1].mean(dim=(-2, -1)), self.net.decoder(*features)

    def forward(self, batch: torch.Tensor) -> torch.Tensor:
        losses = []
        views = []
        for _ in range(2):
            k, flip = int(torch.randint(4, ()).item()), bool(torch.randint(2, ()).item())
            g, local = self._embed(_geometry(_photometric(batch), k, flip))
            views.append((g, _undo_geometry(local, k, flip)))  # local aligned to the input grid
        (g_a, l_a), (g_b, l_b) = views
        if batch.shape[0] >= 2:  # the global term needs a batch to measure variance over
            losses.append(self.vicreg(self.expander(g_a), self.expander(g_b)))
        _, d, h, w = l_a.shape
        index = torch.randint(h * w, (self.local_points,), device=batch.device)
        # the same pixels in both views, projected only there: (B * points, dim)
        picked = [z.flatten(2)[:, :, index].permute(0, 2, 1).reshape(-1, d) for z in (l_a, l_b)]
        local_a, local_b = (self.local_projector(z) for z in picked)
        losses.append(self.local_weight * self.vicreg(local_a, local_b))
        return torch.stack(losses).mean()
