"""One portable file per model: weights plus a JSON-able config, saved atomically."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from models.networks import Segmenter, build_segmenter

FORMAT = "maskloop-checkpoint"
FORMAT_VERSION = 1
ROLES = ("pretext", "segmenter")
# Config keys a loaded checkpoint must have to build its network (and, a segmenter, to predict).
_REQUIRED = {
    "pretext": ("encoder", "in_channels", "out_channels"),
    "segmenter": ("encoder", "in_channels", "out_channels", "kind", "num_classes"),
}


@dataclass
class Checkpoint:
    """Weights and configuration of a pretext network or of a trained segmenter.

    ``config`` is JSON-able. Its keys: ``role`` ("pretext" | "segmenter"), ``architecture``,
    ``encoder``, ``in_channels``, ``out_channels``, ``normalisation`` (percentiles and the
    ``polarity`` rule, "none" when absent: see ``models.data.polarity_of``), ``pretext`` (method or
    None), and for segmenters ``kind``, ``num_classes``, ``classes``, ``init``, ``training_set``
    (fingerprint) and ``metrics``. ``resume`` holds optimizer state and step counts for resuming
    pretraining; it is not needed for inference.
    """

    config: dict[str, Any]
    state_dict: dict[str, torch.Tensor]
    resume: dict[str, Any] = field(default_factory=dict)
    _modules: dict[str, nn.Module] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        role = self.config.get("role")
        if role not in ROLES:
            raise ValueError(f"checkpoint role must be one of {ROLES}, got {role!r}")
        json.dumps(self.config)  # fails early on a config that could not be stored portably

    @property
    def role(self) -> str:
        return str(self.config["role"])

    def save(self, path: str | Path) -> None:
        """Write atomically: a temporary file in the same directory, fsync, rename."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "config_json": json.dumps(self.config),
            "state_dict": {k: v.detach().cpu() for k, v in self.state_dict.items()},
            "resume": self.resume,
        }
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                try:
                    torch.save(payload, handle)
                except RuntimeError as error:
                    # torch's zip writer reports a failed write as "enforce fail at
                    # inline_container.cc ... unexpected pos"; say what it means instead.
                    free = shutil.disk_usage(path.parent).free
                    raise OSError(
                        f"could not write {path} ({free / 1e6:.0f} MB free on its disk; is it "
                        f"full, or the file size limited?): {error}"
                    ) from error
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    @classmethod
    def load(cls, path: str | Path) -> Checkpoint:
        """Read a file written by ``save`` (tensors and plain data only: ``weights_only``)."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"no checkpoint at {path}")
        try:
            payload = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as error:
            raise ValueError(f"{path} is not a readable maskloop checkpoint: {error}") from error
        if not isinstance(payload, dict) or payload.get("format") != FORMAT:
            raise ValueError(f"{path} is not a maskloop checkpoint")
        if payload.get("format_version", 0) > FORMAT_VERSION:
            raise ValueError(
                f"{path} was written by a newer maskloop (format {payload['format_version']})"
            )
        try:
            config = json.loads(payload["config_json"])
            checkpoint = cls(config, payload["state_dict"], payload.get("resume", {}))
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"{path} holds a damaged maskloop checkpoint: {error}") from error
        needed = _REQUIRED[checkpoint.role]
        lacking = [k for k in needed if k not in config]
        if lacking or not isinstance(payload["state_dict"], dict):
            missing = ", ".join(lacking) or "weights"
            raise ValueError(f"{path} holds a damaged maskloop checkpoint: no {missing}")
        return checkpoint

    def backbone_state(self) -> dict[str, torch.Tensor]:
        """Segmenter-shaped weights (``encoder.*``, ``decoder.*``, ``head.*``) of either role."""
        if self.role == "segmenter":
            return dict(self.state_dict)
        prefix = "net."
        return {k[len(prefix) :]: v for k, v in self.state_dict.items() if k.startswith(prefix)}

    def build_segmenter(self) -> Segmenter:
        """A fresh segmenter with this checkpoint's architecture and weights (train mode)."""
        net = build_segmenter(
            self.config["encoder"], self.config["in_channels"], self.config["out_channels"]
        )
        net.load_state_dict(self.backbone_state())
        return net

    def module(self, device: str | torch.device = "cpu") -> Segmenter:
        """The eval-mode segmenter for inference, built once per device and cached."""
        key = str(device)
        if key not in self._modules:
            from models.inference import prepare_for_inference

            self._modules[key] = prepare_for_inference(self.build_segmenter(), torch.device(device))
        return self._modules[key]  # type: ignore[return-value]
