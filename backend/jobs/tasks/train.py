"""Fine-tune a segmenter on the collection's annotations; promote it only if it is at least as
good as the active version on the same validation images."""

from dataclasses import dataclass

import numpy as np
from sqlalchemy import func, select

from backend.jobs.context import JobContext, budget_minutes
from backend.jobs.ending import end_job, ended_elsewhere
from backend.loop import triggers
from backend.loop.data import (
    Labeled,
    image_array,
    in_channels_for,
    latest_annotations,
    mask_array,
    split_validation,
    unlabeled_sample,
)
from backend.loop.ensembles import checkpoint_keys, networks_of, partners_for_candidate
from backend.loop.promotion import decide, primary_metric, score
from backend.loop.proposals import load_checkpoint
from backend.orm import Collection, Encoder, Image, Job, ModelStatus, ModelVersion
from backend.orm._types import utcnow
from models.training.calibrate import MAX_IMAGES


@dataclass
class Plan:
    collection: Collection
    train: list[Labeled]
    val: list[Labeled]
    init: str
    init_key: str | None
    parent_id: int | None
    encoder_id: int | None
    active_id: int | None
    active_keys: list[str]  # the active version's networks, scored as it predicts
    # The versions whose networks the candidate averages with its own, and their checkpoints.
    partners: list[tuple[int, str]]
    params: dict
    unlabeled: list[Image]


def resolve_init(
    db, collection_id: int, wanted: str | None
) -> tuple[str, str | None, int | None, int | None]:  # type: ignore[no-untyped-def]
    """(init, checkpoint key, parent model id, encoder id).

    Default: ssl, else previous, else scratch. Fine-tuning from the self-supervised encoder on
    all current labels is the path the label-efficiency benchmark measures; warm starts from
    the previous version with a short budget lost to it on the loop benchmark (every retrain
    rejected), so they are opt-in."""
    active = active_model(db, collection_id)
    encoder = db.scalar(
        select(Encoder)
        .where(Encoder.collection_id == collection_id)
        .order_by(Encoder.id.desc())
        .limit(1)
    )
    if wanted is None:
        wanted = "ssl" if encoder else "previous" if active else "scratch"
    if wanted == "previous":
        if active is None:
            raise ValueError(
                "init 'previous' needs an active model version; use 'ssl' or 'scratch'"
            )
        return "previous", active.checkpoint_key, active.id, active.encoder_id
    if wanted == "ssl":
        if encoder is None:
            raise ValueError("init 'ssl' needs a finished pretraining; start a pretrain job first")
        return "ssl", encoder.checkpoint_key, None, encoder.id
    return "scratch", None, None, None


def active_model(db, collection_id: int) -> ModelVersion | None:  # type: ignore[no-untyped-def]
    return db.scalar(
        select(ModelVersion).where(
            ModelVersion.collection_id == collection_id,
            ModelVersion.status == ModelStatus.active.value,
        )
    )


def _plan(ctx: JobContext, job_id: int) -> Plan:
    with ctx.factory() as db:
        job = db.get(Job, job_id)
        assert job is not None
        collection = db.get(Collection, job.collection_id)
        assert collection is not None
        labeled = latest_annotations(db, collection.id)
        if not labeled:
            raise ValueError(
                "the collection has no labeled images to train on; annotate some first"
            )
        train, val = split_validation(labeled, collection.id)
        init, key, parent, encoder = resolve_init(db, collection.id, job.params.get("init"))
        active = active_model(db, collection.id)
        # Semantic models fit their class offsets on unlabeled images (TrainConfig.calibration).
        unlabeled = (
            unlabeled_sample(db, collection.id, MAX_IMAGES) if collection.kind == "semantic" else []
        )
        wanted = job.params.get("ensemble", True)
        partner_ids = partners_for_candidate(active, ctx.settings.ensemble_max) if wanted else []
        # The partners are among the active version's networks: one query finds them all.
        chain = networks_of(active) if active else []
        keys = checkpoint_keys(db, chain)
        active_keys = [keys[i] for i in chain if i in keys]
        db.expunge_all()
        return Plan(
            collection,
            train,
            val,
            init,
            key,
            parent,
            encoder,
            active.id if active else None,
            active_keys,
            [(i, keys[i]) for i in partner_ids if i in keys],
            dict(job.params),
            unlabeled,
        )


def _arrays(ctx: JobContext, items: list[Labeled]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    images = [image_array(ctx.store, item.image) for item in items]
    masks = [mask_array(ctx.store, item.annotation.mask_key) for item in items]
    return images, masks


def run(ctx: JobContext, job_id: int) -> str:
    from models import TrainConfig, train

    plan = _plan(ctx, job_id)
    collection = plan.collection
    ctx.reporter.log(
        f"training on {len(plan.train)} images, validating on {len(plan.val)}; init {plan.init}"
    )
    train_images, train_masks = _arrays(ctx, plan.train)
    val_images, val_masks = _arrays(ctx, plan.val)
    init = load_checkpoint(ctx.store, plan.init_key) if plan.init_key else None
    unlabeled = [image_array(ctx.store, image) for image in plan.unlabeled]
    if unlabeled:
        ctx.reporter.log(f"class shares will be matched on {len(unlabeled)} unlabeled images")
    params = plan.params
    config = TrainConfig(
        kind=collection.kind,  # type: ignore[arg-type]
        num_classes=collection.num_classes,
        in_channels=in_channels_for([i.image for i in plan.train + plan.val]),
        encoder=str(init.config.get("encoder", "small"))
        if init is not None
        else params.get("encoder", "small"),
        epochs=params.get("epochs"),
        steps=params.get("steps"),
        minutes=budget_minutes(params, ctx.settings.train_minutes),
        device=ctx.settings.device,
        # The validation images decide promotion below, so they must not also pick the
        # candidate's epoch: that would hand every candidate an edge over the active version.
        # The last weights of a cosine-decayed run are used instead (see TrainConfig.keep).
        schedule="cosine",
        keep="last",
        # Every labeled image gets the same share of crops: a scientist's labels are a few images
        # of each kind, and area weighting let one 1272x603 frame take a third of the crops (see
        # README, "Loop benchmark"). Scores are per image too.
        sampling="image",
        **({"lr": params["lr"]} if "lr" in params else {}),
        classes=[c["name"] for c in collection.classes],
    )
    scoring_share = 0.1 if plan.val else 0.0
    checkpoint = train(
        train_images,
        train_masks,
        config,
        init=init,
        val_images=val_images or None,
        val_masks=val_masks or None,
        unlabeled=unlabeled or None,
        on_progress=ctx.progress_callback(scale=1.0 - scoring_share),
        should_stop=ctx.reporter.should_stop,
    )
    if ctx.reporter.cancelled or ctx.reporter.should_stop():
        return "cancelled"
    partners = _partners(ctx, plan, checkpoint)
    members = [checkpoint] + [network for _, network in partners]
    # Score the candidate and the active version the same way they would predict, on the same
    # images.
    ctx.reporter.log("scoring on the validation images")
    active = [load_checkpoint(ctx.store, key) for key in plan.active_keys]
    # The candidate alone only for the log, and only when it averages with others.
    candidate_metrics, baseline_metrics, *alone = score(
        [members, active, *([[checkpoint]] if partners else [])],
        val_images,
        val_masks,
        collection.kind,
        collection.num_classes,
    )
    if alone and plan.val:
        metric = primary_metric(collection.kind)
        ctx.reporter.log(
            f"{metric} {alone[0].get(metric, 0):.3f} alone, {candidate_metrics.get(metric, 0):.3f} "
            f"averaged with {len(partners)} earlier network(s)"
        )
    baseline = baseline_metrics if active and plan.val else None
    ctx.reporter.update(1.0, 0.0, {}, 0)
    promote, reason = decide(
        candidate_metrics, baseline, plan.active_id is not None, collection.kind
    )
    outcome = Outcome(
        ctx.save_checkpoint(checkpoint),
        [version_id for version_id, _ in partners],
        checkpoint.config,
        candidate_metrics,
        baseline,
        promote,
        reason,
    )
    ctx.reporter.flush()  # the metric history, before the row ends below
    return _register(ctx, job_id, plan, outcome)


def _partners(ctx: JobContext, plan: Plan, checkpoint) -> list[tuple[int, object]]:  # type: ignore[no-untyped-def]
    """(version id, network) of the planned partners that predict the same thing from the same
    channels as the candidate (see backend.loop.ensembles)."""
    from models.inference import check_ensemble

    kept = []
    for version_id, key in plan.partners:
        partner = load_checkpoint(ctx.store, key)
        try:
            check_ensemble([checkpoint, partner])  # same kind, classes and instance target
            channels = partner.config.get("in_channels"), checkpoint.config.get("in_channels")
            # check_ensemble lets grey models join RGB ones (grey repeated); partners must match.
            why = None if channels[0] == channels[1] else "it reads other channels"
        except ValueError as error:
            why = str(error)
        if why is not None:
            ctx.reporter.log(f"not averaging with model {version_id}: {why}")
            continue
        kept.append((version_id, partner))
    return kept


@dataclass
class Outcome:
    """A finished training: what the new version row records."""

    key: str  # its own network's checkpoint
    ensemble_with: list[int]  # the versions whose networks it averages with
    config: dict
    metrics: dict[str, float]
    baseline: dict[str, float] | None  # the active version's, on the same validation images
    promote: bool
    reason: str


def _register(ctx: JobContext, job_id: int, plan: Plan, outcome: Outcome) -> str:
    """Register the version and end the job in one transaction, which starts by ending the
    job if, and only if, it is still running and not cancelled: a cancel that the API
    acknowledged always wins, and one that comes later finds the job ended (409)."""
    promote = outcome.promote
    with ctx.factory() as db:
        ended = end_job(db, job_id, ctx.worker)
        if not ended:
            db.rollback()
            return ended_elsewhere(db, job_id)
        reason = outcome.reason
        active = active_model(db, plan.collection.id)
        if promote and (active.id if active else None) != plan.active_id:
            # An admin activated another version (a rollback) while this one trained; it was
            # compared with the version active when it started, so it must not replace theirs.
            promote = False
            now = f"version {active.version}" if active else "no version"
            reason = (
                f"not promoted: the active version changed during this training (now {now}); "
                f"it was compared with the one active when it started ({reason}). Activate "
                "it yourself if you want it"
            )
        collection = db.get(Collection, plan.collection.id)
        number = (
            db.scalar(
                select(func.max(ModelVersion.version)).where(
                    ModelVersion.collection_id == collection.id
                )
            )
            or 0
        ) + 1
        version = ModelVersion(
            collection_id=collection.id,
            version=number,
            status=ModelStatus.active.value if promote else ModelStatus.rejected.value,
            init=plan.init,
            parent_id=plan.parent_id,
            encoder_id=plan.encoder_id,
            ensemble_with_ids=outcome.ensemble_with,
            checkpoint_key=outcome.key,
            metrics=outcome.metrics,
            baseline_metrics=outcome.baseline,
            reason=reason,
            annotation_ids=[item.annotation.id for item in plan.train],
            val_annotation_ids=[item.annotation.id for item in plan.val],
            train_images=len(plan.train),
            val_images=len(plan.val),
            config=outcome.config,
            job_id=job_id,
            activated_at=utcnow() if promote else None,
        )
        if promote:
            for old in db.scalars(
                select(ModelVersion).where(
                    ModelVersion.collection_id == collection.id,
                    ModelVersion.status == ModelStatus.active.value,
                )
            ):
                old.status = ModelStatus.archived.value
        db.add(version)
        db.flush()
        job = db.get(Job, job_id)
        job.model_id = version.id
        # Written here, not through the reporter: its own connection would wait on this
        # transaction's lock on SQLite, and once committed the job has ended.
        line = f"{utcnow():%H:%M:%S} version {number}: {version.status} ({reason})\n"
        job.log_tail = (job.log_tail + line)[-4000:]
        triggers.after_training(db, ctx.queue, collection, version if promote else None)
        db.commit()
    return "succeeded"
