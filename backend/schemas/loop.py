from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from backend.schemas.common import Public, UtcDatetime
from backend.schemas.images import ImagePublic


class JobParams(BaseModel):
    """Parameters of a job; each kind accepts only its own (checked in the service)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    minutes: float | None = Field(default=None, gt=0, le=24 * 60)
    steps: int | None = Field(default=None, gt=0, le=10_000_000)
    epochs: int | None = Field(default=None, gt=0, le=100_000)
    method: str | None = Field(default=None, max_length=64, description="pretext task (pretrain)")
    init: Literal["ssl", "previous", "scratch"] | None = None
    encoder: str | None = Field(
        default=None,
        max_length=64,
        description="network (pretrain; train from scratch): 'small' (default, for CPUs) or "
        "'resnet18' / 'resnet34' (GPUs); versions trained from an encoder or a version keep "
        "its network",
    )
    # A diverging lr ends the job failed with the reason (the loss check); the bound keeps
    # the value a float32, which 1e300 was not (an overflow error inside torch).
    lr: float | None = Field(default=None, gt=0, le=1e6, description="learning rate")
    model_id: int | None = Field(default=None, gt=0, description="version to predict with")
    ensemble: StrictBool | None = Field(
        default=None,
        description="train: average the new version's predictions with the active version's "
        "networks (default true; MASKLOOP_ENSEMBLE_MAX caps them)",
    )


class JobCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["pretrain", "train", "predict"]
    params: JobParams = Field(default_factory=JobParams)


class JobPublic(Public):
    id: int
    collection_id: int
    kind: str
    status: str
    params: dict[str, Any]
    trigger: str
    progress: float
    eta_seconds: float | None
    metrics: dict[str, Any]
    log_tail: str
    error: str | None
    attempts: int
    cancel_requested: bool
    created_by: str | None = None  # username; None for automatic triggers
    created_at: UtcDatetime
    started_at: UtcDatetime | None
    finished_at: UtcDatetime | None
    model_id: int | None
    encoder_id: int | None


class JobsPublic(BaseModel):
    data: list[JobPublic]
    count: int
    # Workers polling the queue now: 0 while jobs are queued means they wait for a worker to
    # start (``maskloop worker``), not for a busy one to finish.
    workers_alive: int = 0


class WorkerPublic(Public):
    name: str
    host: str
    pid: int
    started_at: UtcDatetime
    last_seen_at: UtcDatetime
    job_id: int | None
    alive: bool = True


class WorkersPublic(BaseModel):
    data: list[WorkerPublic]
    count: int
    alive: int


class ModelPublic(Public):
    id: int
    collection_id: int
    version: int
    status: str
    init: str
    parent_id: int | None
    encoder_id: int | None
    network: str | None = Field(
        description="the network it trained: 'small', 'resnet18' or 'resnet34' (see the "
        "pretrain and train jobs' encoder)"
    )
    ensemble_with_ids: list[int]
    metrics: dict[str, float]
    baseline_metrics: dict[str, float] | None
    reason: str | None
    train_images: int
    val_images: int
    annotation_ids: list[int]
    val_annotation_ids: list[int]
    job_id: int | None
    created_at: UtcDatetime
    activated_at: UtcDatetime | None


class ModelsPublic(BaseModel):
    data: list[ModelPublic]
    count: int


class ActivateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    collection_id: int | None = Field(default=None, description="optional guard")


class LoopSettings(BaseModel):
    auto_pretrain_min_images: int = Field(ge=0, le=1_000_000)
    retrain_every: int = Field(ge=0, le=1_000_000)


class LoopSettingsUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    auto_pretrain_min_images: int | None = Field(default=None, ge=0, le=1_000_000)
    retrain_every: int | None = Field(default=None, ge=0, le=1_000_000)


class NextImage(ImagePublic):
    strategy: str
    uncertainty: float | None
    model_id: int | None
    lease_expires_at: UtcDatetime
    # Once labeled, this image validates new versions instead of training them. With a model,
    # uncertainty and diverse serve such images as random draws, so validation stays a fair
    # sample of the collection.
    validation: bool


class StatsRow(BaseModel):
    model_id: int
    version: int
    status: str
    created_at: UtcDatetime
    labeled_images: int
    val_dice: float | None
    val_iou: float | None
    val_object_f1: float | None
    corrections: int
    mean_corrected_fraction: float | None
    # Pixels an annotator starting from empty masks would have drawn on the same images.
    mean_empty_start_fraction: float | None
    # Corrected pixels / pixels drawn from empty, summed over the corrections that record both:
    # the share of the drawing work that is left with this version's proposals. Unlike the
    # corrected fraction it does not rise because the images served were denser.
    pixel_work_ratio: float | None
    # Corrections that changed more pixels than drawing from empty would have: proposals that
    # misled the annotator on those images.
    proposals_worse_than_empty: int
    objects_proposed: int
    objects_accepted_unchanged: int
    objects_added: int
    objects_removed: int
    mean_seconds_spent: float | None


class StatsPublic(BaseModel):
    data: list[StatsRow]
    count: int
    labeled_images: int
    annotations: int


class ImageUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    holdout: bool


class PredictedObject(BaseModel):
    id: int
    class_: int = Field(alias="class", serialization_alias="class")
    area: int
    bbox: list[int]  # x, y, width, height
    centroid: list[float]  # x, y
    mean_confidence: float

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)


class PredictionPublic(BaseModel):
    image_id: int
    model_id: int
    model_version: int
    kind: str
    width: int
    height: int
    uncertainty: float
    objects: list[PredictedObject]
