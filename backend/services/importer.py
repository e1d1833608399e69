"""Import a folder of images (and label images with the same stems) into a collection."""

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from backend.config import Settings
from backend.db import make_engine, make_session_factory, session_scope
from backend.errors import DomainError
from backend.schemas.collections import ClassSpec, CollectionCreate
from backend.services import accounts, annotations, images
from backend.services import collections as collection_service
from backend.storage import LocalBlobStore

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".zip"}
PALETTE = ["#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#46f0f0", "#f032e6"]


@dataclass
class ImportReport:
    added: int = 0
    duplicates: int = 0
    masks: int = 0
    without_mask: int = 0  # images that --masks had no label image for
    failed: list[str] = field(default_factory=list)

    def summary(self) -> str:
        text = f"{self.added} added, {self.duplicates} already there, {self.masks} masks"
        if self.failed:
            text += f", {len(self.failed)} rejected:\n  " + "\n  ".join(self.failed)
        return text


def image_files(directory: Path) -> list[Path]:
    """The files of ``directory`` (not its sub-folders) that an import reads, sorted."""
    return sorted(p for p in directory.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def _find_mask(masks_dir: Path | None, stem: str) -> Path | None:
    if masks_dir is None:
        return None
    for suffix in (".png", ".tif", ".tiff"):
        candidate = masks_dir / f"{stem}{suffix}"
        if candidate.is_file():
            return candidate
    return None


def import_folder(
    settings: Settings,
    directory: Path,
    collection_name: str,
    masks_dir: Path | None,
    kind: str,
    class_names: list[str],
    *,
    mask_limit: int | None = None,
    echo: Callable[[str], object] | None = None,
) -> ImportReport:
    """Each file is its own transaction, so one bad file does not undo the others."""
    store = LocalBlobStore(settings.blob_dir)
    engine = make_engine(settings.database_url)
    factory = make_session_factory(engine)
    report = ImportReport()
    try:
        with session_scope(factory) as db:
            admin = accounts.get_user(db, settings.admin_username)
            collection = collection_service.get_collection_by_name(db, collection_name)
            if collection is None:
                spec = CollectionCreate(
                    name=collection_name,
                    kind=kind,  # type: ignore[arg-type]
                    classes=[
                        ClassSpec(name=n, color=PALETTE[i % len(PALETTE)])
                        for i, n in enumerate(class_names or ["object"])
                    ],
                )
                collection = collection_service.create_collection(db, spec, admin)
        files = image_files(directory)
        for path in files:
            with session_scope(factory) as db:
                try:
                    [(image, duplicate)] = images.ingest(
                        db,
                        store,
                        settings,
                        collection,
                        [images.IncomingFile(path.name, path.read_bytes())],
                        admin,
                    )
                except (DomainError, ValueError) as exc:
                    report.failed.append(getattr(exc, "detail", str(exc)))
                    continue
                report.duplicates += duplicate
                report.added += not duplicate
                mask = _find_mask(masks_dir, path.stem)
                report.without_mask += masks_dir is not None and mask is None
                wanted = mask_limit is None or report.masks < mask_limit
                if mask is not None and wanted and image.status != "labeled":
                    try:
                        annotations.save_annotation(
                            db, store, image, collection, mask.read_bytes(), admin
                        )
                        report.masks += 1
                    except DomainError as exc:
                        report.failed.append(f"{mask.name}: {exc.detail}")
            if echo:
                echo(f"{path.name}: {'duplicate' if duplicate else 'added'}")
    finally:
        engine.dispose()
    return report
