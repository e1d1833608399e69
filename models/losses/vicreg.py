"""VICReg loss: invariance + variance + covariance (Bardes, Ponce, LeCun, "VICReg", 2021,
arXiv:2105.04906). The variance term keeps each dimension's spread up, which prevents collapse
without negative pairs."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class VICRegLoss(nn.Module):
    """Shape: z_a (N, D), z_b (N, D) -> scalar. N >= 2."""

    def __init__(
        self, invariance: float = 25.0, variance: float = 25.0, covariance: float = 1.0
    ) -> None:
        super().__init__()
        if min(invariance, variance, covariance) < 0:
            raise ValueError(f"weights must be >= 0, got {invariance=}, {variance=}, {covariance=}")
        self.weights = (invariance, variance, covariance)

    @staticmethod
    def _variance(z: torch.Tensor) -> torch.Tensor:
        std = torch.sqrt(z.var(dim=0) + 1e-4)
        return F.relu(1.0 - std).mean()

    @staticmethod
    def _covariance(z: torch.Tensor) -> torch.Tensor:
        n, d = z.shape
        z = z - z.mean(dim=0)
        cov = (z.T @ z) / (n - 1)  # (D, D)
        off_diagonal = cov - torch.diag(torch.diagonal(cov))
        return off_diagonal.pow(2).sum() / d

    def forward(self, z_a: torch.Tensor, z_b: torch.Tensor) -> torch.Tensor:
        if z_a.shape != z_b.shape or z_a.ndim != 2 or z_a.shape[0] < 2:
            raise ValueError(f"need two (N>=2, D) embeddings, got {z_a.shape} and {z_b.shape}")
        w_inv, w_var, w_cov = self.weights
        invariance = F.mse_loss(z_a, z_b)
        variance = self._variance(z_a) + self._variance(z_b)
        covariance = self._covariance(z_a) + self._covariance(z_b)
        return w_inv * invariance + w_var * variance + w_cov * covariance
