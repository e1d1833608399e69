"""Model versions registered straight in the database, with a real (tiny) trained network: for
tests about what happens around a version, without a training job's minute."""

import tempfile
from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from backend.config import Settings
from backend.orm import ModelStatus, ModelVersion
from backend.storage import LocalBlobStore
from tests.backend.loop.data import discs


def tiny_checkpoint_bytes() -> bytes:
    """A two-step instance network trained on one synthetic disc image, as a checkpoint file."""
    from models import TrainConfig, train

    image, labels = discs(0)
    config = TrainConfig(kind="instance", steps=2, batch_size=1, crop_size=32, device="cpu")
    checkpoint = train([image], [labels], config)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.pt"
        checkpoint.save(path)
        return path.read_bytes()


def add_version(
    settings: Settings,
    collection_id: int,
    checkpoint: bytes,
    version: int,
    status: ModelStatus = ModelStatus.archived,
) -> int:
    """Register a version of the collection with this network; its id."""
    key, _ = LocalBlobStore(settings.blob_dir).put(checkpoint)
    engine = create_engine(settings.database_url)
    try:
        with Session(engine) as db:
            row = ModelVersion(
                collection_id=collection_id,
                version=version,
                status=status.value,
                init="scratch",
                checkpoint_key=key,
                ensemble_with_ids=[],
                metrics={},
                annotation_ids=[],
                val_annotation_ids=[],
                train_images=1,
                val_images=0,
                config={},
            )
            db.add(row)
            db.commit()
            return row.id
    finally:
        engine.dispose()
