"""Self-supervised pretraining on every image of the collection that is not held out."""

from sqlalchemy import select

from backend.jobs.context import JobContext, budget_minutes
from backend.jobs.ending import end_job, ended_elsewhere
from backend.loop import triggers
from backend.loop.data import image_array, in_channels_for
from backend.orm import Collection, Encoder, Image, Job
from backend.orm._types import utcnow


def run(ctx: JobContext, job_id: int) -> str:
    from models import PretrainConfig, pretrain

    with ctx.factory() as db:
        job = db.get(Job, job_id)
        assert job is not None
        params = dict(job.params)
        images = list(
            db.scalars(
                select(Image).where(
                    Image.collection_id == job.collection_id, Image.holdout.is_(False)
                )
            )
        )
        collection_id = job.collection_id
    if not images:
        raise ValueError("the collection has no images to pretrain on; upload some first")
    ctx.reporter.log(f"loading {len(images)} images")
    arrays = [image_array(ctx.store, image) for image in images]
    config = PretrainConfig(
        method=params.get("method", PretrainConfig.method),
        in_channels=in_channels_for(images),
        steps=params.get("steps"),
        minutes=budget_minutes(params, ctx.settings.pretrain_minutes),
        device=ctx.settings.device,
        # Versions trained from this encoder inherit its network (backend.jobs.tasks.train).
        **({"encoder": params["encoder"]} if "encoder" in params else {}),
        **({"lr": params["lr"]} if "lr" in params else {}),
    )
    ctx.reporter.log(
        f"pretraining: {config.method}, encoder {config.encoder}, "
        f"budget {config.steps or '-'} steps / {config.minutes or '-'} min"
    )
    checkpoint = pretrain(
        arrays, config, on_progress=ctx.progress_callback(), should_stop=ctx.reporter.should_stop
    )
    if ctx.reporter.cancelled or ctx.reporter.should_stop():
        return "cancelled"
    key = ctx.save_checkpoint(checkpoint)
    losses = ctx.reporter.metrics.get("loss", [])
    ctx.reporter.flush()  # the loss history, before the row ends below
    with ctx.factory() as db:
        if not end_job(db, job_id, ctx.worker):
            db.rollback()
            return ended_elsewhere(db, job_id)
        encoder = Encoder(
            collection_id=collection_id,
            method=config.method,
            checkpoint_key=key,
            pool_images=len(images),
            steps=int(checkpoint.resume.get("step", losses[-1][0] if losses else 0)),
            final_loss=losses[-1][1] if losses else None,
            job_id=job_id,
        )
        db.add(encoder)
        db.flush()
        job = db.get(Job, job_id)
        assert job is not None
        job.encoder_id = encoder.id
        collection = db.get(Collection, collection_id)
        assert collection is not None
        # In this transaction, not through the reporter: the job ends with this commit.
        job.log_tail = (job.log_tail + f"{utcnow():%H:%M:%S} encoder {encoder.id} saved\n")[-4000:]
        triggers.after_pretraining(db, ctx.queue, collection)
        db.commit()
    return "succeeded"
