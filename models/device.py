"""Device selection."""

from __future__ import annotations

import torch


def resolve_device(name: str | torch.device) -> torch.device:
    """``auto`` picks CUDA when present, else the CPU."""
    if str(name) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {str(name)!r} requested but CUDA is not available")
    return device
