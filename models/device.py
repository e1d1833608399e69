"""Device selection."""

from __future__ import annotations

import re

import torch

_NAME = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")


def check_device_name(name: str) -> None:
    """A ``ValueError`` unless ``name`` is auto, cpu, mps, cuda or cuda:N."""
    if not _NAME.match(str(name)):
        raise ValueError(f"unknown device {str(name)!r}; use auto, cpu, cuda, cuda:N or mps")


def resolve_device(name: str | torch.device) -> torch.device:
    """``auto`` picks CUDA when present, else the CPU. A named device that this machine lacks
    is a ``ValueError`` that says so, before any work starts."""
    text = str(name)
    check_device_name(text)
    if text == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(text)
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError("device 'mps' requested but this machine has no Apple GPU (MPS)")
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device {text!r} requested but CUDA is not available")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ValueError(
                f"device {text!r} requested but there are {torch.cuda.device_count()} CUDA devices"
            )
    return device
