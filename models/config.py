"""Configuration and progress records of the public API."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from models.data.crops import WEIGHTINGS
from models.data.normalize import POLARITIES
from models.device import check_device_name
from models.networks import ENCODERS
from models.pretext import PRETEXTS

KINDS = ("semantic", "instance")
SCHEDULES = ("constant", "cosine")
KEEPS = ("best", "last")
TRANSFERS = ("pretext", "encoder")
CALIBRATIONS = ("prior", "none")
INSTANCE_TARGETS = ("boundary", "core")


@dataclass
class Progress:
    """Sent to ``on_progress`` every few steps and after each validation."""

    phase: str  # "pretrain" | "train" | "validate"
    step: int
    total_steps: int | None
    fraction: float  # 0..1 of the budget (steps or minutes, whichever binds)
    metrics: dict[str, float]
    elapsed_s: float
    eta_s: float | None


def _check_positive(name: str, value: float | None, allow_none: bool = True) -> None:
    if value is None:
        if not allow_none:
            raise ValueError(f"{name} must be given")
        return
    if isinstance(value, bool) or not 0 < value < math.inf:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")


def _check_common(config: PretrainConfig | TrainConfig) -> None:
    if config.encoder not in ENCODERS:
        raise ValueError(f"unknown encoder {config.encoder!r}; choose one of {sorted(ENCODERS)}")
    if not isinstance(config.in_channels, int) or config.in_channels < 1:
        raise ValueError(f"in_channels must be an integer >= 1, got {config.in_channels!r}")
    check_device_name(config.device)
    for name in ("steps", "minutes", "lr", "batch_size"):
        _check_positive(name, getattr(config, name))
    if config.polarity not in POLARITIES:
        raise ValueError(f"polarity must be one of {POLARITIES}, got {config.polarity!r}")
    if not isinstance(config.crop_size, int) or config.crop_size < 16 or config.crop_size % 16:
        raise ValueError(f"crop_size must be a multiple of 16 and >= 16, got {config.crop_size!r}")


@dataclass
class PretrainConfig:
    """Self-supervised pretraining. Stops after ``steps`` or ``minutes``, whichever comes first;
    with neither given, after 2000 steps. With ``crop_candidates > 1`` each crop is the most
    varied of that many random draws, so sparse images (nuclei on black) teach less empty
    background. ``polarity="auto"`` inverts bright-background images after normalisation
    (``models.data.normalize_polarity``), as fine-tuning and inference do."""

    method: str = "masked"
    encoder: str = "small"
    in_channels: int = 1
    steps: int | None = None
    minutes: float | None = None
    batch_size: int = 8
    crop_size: int = 128
    lr: float = 1e-3
    weight_decay: float = 1e-4
    device: str = "auto"
    seed: int = 0
    log_every: int = 10
    crop_candidates: int = 1
    polarity: str = "auto"

    def __post_init__(self) -> None:
        if self.method not in PRETEXTS:
            raise ValueError(
                f"unknown pretext method {self.method!r}; choose one of {sorted(PRETEXTS)}"
            )
        _check_common(self)
        _check_positive("log_every", self.log_every)
        _check_positive("crop_candidates", self.crop_candidates)
        if self.steps is None and self.minutes is None:
            self.steps = 2000

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class TrainConfig:
    """Supervised fine-tuning.

    ``num_classes`` counts background; for ``instance`` it is ignored (objects are foreground and
    the network predicts background / interior / boundary, see ``instance_target``). The budget
    is ``epochs`` of ``steps_per_epoch`` steps, ``steps`` or ``minutes``, whichever comes first;
    with none given, 30 epochs. Validation after each epoch picks the best epoch and stops after
    ``patience`` epochs without improvement. ``polarity="auto"`` inverts bright-background images
    after normalisation (``models.data.normalize_polarity``; recorded in the checkpoint, so
    inference does the same); ``invert_probability`` inverts training crops at random (off by
    default: with ``polarity="auto"`` on the dsb2018 pool, p=0.5 lowered Dice and object F1).

    ``keep="last"`` returns the weights at the end of the budget instead of the best epoch's
    (validation still runs each epoch, for the curve, but neither picks nor stops). The service
    uses it so that the validation images that then decide promotion were not also used to pick
    the candidate, which would favour every candidate over the active version. It pairs with
    ``schedule="cosine"``, which decays the learning rate to zero over the budget (by steps or by
    minutes, whichever runs out first), so the last weights are settled ones.

    ``sampling`` is how training crops pick their image: ``"area"`` in proportion to its pixels,
    ``"image"`` the same share for every image. The service uses ``"image"``: a scientist's
    labels are a few images of each kind, one large frame should not take most of the crops,
    and scores are averaged per image.

    ``transfer`` is what an SSL start loads: ``"pretext"`` every part the pretext trained (the
    encoder, plus the decoder for the restoration pretexts), ``"encoder"`` the encoder only,
    with the decoder fresh. ``encoder_lr_scale`` multiplies the encoder's learning rate (1: the
    whole network at ``lr``).

    ``calibration="prior"`` fits, for ``semantic`` models trained with unlabeled images at
    hand (``train(..., unlabeled=...)``), one logit offset per class so that the network gives
    the unlabeled images the class shares of the training masks (``models.calibration``);
    inference applies them. ``"none"``, instance models and a call without unlabeled images
    keep the raw argmax.

    ``contact_weight`` (instance models) multiplies the cross-entropy of boundary pixels where
    two objects touch by ``1 + contact_weight`` (``models.postprocess.CONTACT``). Merged
    neighbours are the most common object error on dsb2018; on pool images outside three draws
    a weight of 5 cut merges and raised object F1 by 0.015 at 16 labels but lowered it by 0.010
    at 4 (over-split tissue), so it is off by default.

    ``instance_target`` (instance models) is what the network learns per pixel: ``"boundary"``
    background / interior / boundary; ``"core"`` adds a fourth class, the interior pixels at
    least half the object's depth from its border (``models.postprocess.CORE``), whose
    components seed the watershed, so neighbours joined by a weak boundary stay apart. On 150
    dsb2018 pool images outside three draws of labeled images (never the test split; BENCHMARKS.md,
    "A core class"), mean Dice / object F1, boundary -> core: K=4 0.845/0.749 -> 0.853/0.739
    (F1 down in one draw of three, by 0.052; nuclei split 0.6% -> 2.8%); K=16 0.863/0.760 ->
    0.864/0.789 (F1 up in all three draws; nuclei merged 25.2% -> 17.4%). It can lose object F1
    at 4 labels, so it is off by default.
    """

    kind: Literal["semantic", "instance"] = "instance"
    num_classes: int = 2
    in_channels: int = 1
    encoder: str = "small"
    epochs: int | None = None
    steps: int | None = None
    minutes: float | None = None
    steps_per_epoch: int = 50
    lr: float = 1e-3
    weight_decay: float = 1e-4
    batch_size: int = 8
    crop_size: int = 128
    dice_weight: float = 1.0
    patience: int = 8
    val_fraction: float = 0.2
    augmentation: str = "default"
    invert_probability: float = 0.0
    polarity: str = "auto"
    schedule: str = "constant"
    keep: str = "best"
    sampling: str = "area"
    transfer: str = "pretext"
    encoder_lr_scale: float = 1.0
    calibration: str = "prior"
    contact_weight: float = 0.0
    instance_target: str = "boundary"
    device: str = "auto"
    seed: int = 0
    log_every: int = 10
    classes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown kind {self.kind!r}; use one of {KINDS}")
        low = 2 if self.kind == "semantic" else 1  # instance models ignore object classes
        if not isinstance(self.num_classes, int) or not low <= self.num_classes <= 255:
            raise ValueError(
                f"num_classes must be an integer in {low}..255, got {self.num_classes!r}"
            )
        _check_common(self)
        for name in ("epochs", "steps_per_epoch", "patience", "log_every"):
            _check_positive(name, getattr(self, name))
        if not 0 <= self.val_fraction < 1:
            raise ValueError(f"val_fraction must be in [0, 1), got {self.val_fraction!r}")
        if self.dice_weight < 0:
            raise ValueError(f"dice_weight must be >= 0, got {self.dice_weight!r}")
        if not 0 <= self.invert_probability <= 1:
            raise ValueError(
                f"invert_probability must be in [0, 1], got {self.invert_probability!r}"
            )
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {SCHEDULES}, got {self.schedule!r}")
        if self.keep not in KEEPS:
            raise ValueError(f"keep must be one of {KEEPS}, got {self.keep!r}")
        if self.sampling not in WEIGHTINGS:
            raise ValueError(f"sampling must be one of {WEIGHTINGS}, got {self.sampling!r}")
        if not 0 <= self.encoder_lr_scale <= 10:
            raise ValueError(f"encoder_lr_scale must be in [0, 10], got {self.encoder_lr_scale!r}")
        if self.transfer not in TRANSFERS:
            raise ValueError(f"transfer must be one of {TRANSFERS}, got {self.transfer!r}")
        if self.calibration not in CALIBRATIONS:
            raise ValueError(f"calibration must be one of {CALIBRATIONS}, got {self.calibration!r}")
        if not 0 <= self.contact_weight <= 100:
            raise ValueError(f"contact_weight must be in [0, 100], got {self.contact_weight!r}")
        if self.instance_target not in INSTANCE_TARGETS:
            raise ValueError(
                f"instance_target must be one of {INSTANCE_TARGETS}, got {self.instance_target!r}"
            )
        if self.augmentation not in ("default", "none"):
            raise ValueError(f"augmentation must be 'default' or 'none', got {self.augmentation!r}")
        if self.epochs is None and self.steps is None and self.minutes is None:
            self.epochs = 30

    @property
    def out_channels(self) -> int:
        """Network outputs: for instance 3 (background, interior, boundary), 4 with the core
        (``instance_target="core"``); else num_classes."""
        if self.kind != "instance":
            return self.num_classes
        return 4 if self.instance_target == "core" else 3

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
