"""Versions that predict with several networks: which ones a candidate averages, and their files.

Two or more loop versions trained on different labeled sets did better averaged than any alone
on pool images none of them trained on: the early ones keep the common image type, the later
ones add the rare types the scientist was served since
(bench-results/loop-history/replay_ensemble.txt, replay_chain.txt).
"""

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.orm import ModelVersion


def partners_for_candidate(active: ModelVersion | None, max_networks: int) -> list[int]:
    """Version ids whose own networks a new candidate averages with its own: the active version
    and the versions it averages, newest first, up to ``max_networks`` networks in all.

    Beyond the cap the oldest partner stays and the next oldest go. The oldest was trained
    before any model chose the images, on the collection's common type; later versions learned
    the rare types uncertainty serves. In a replay of loop run 11, round 1's network with the
    newest three beat the newest four by 0.009 and 0.011 Dice at rounds 5 and 6, on pool images
    none trained on (bench-results/loop-history/replay_chain.txt)."""
    if active is None or max_networks <= 1:
        return []
    chain = networks_of(active)
    if len(chain) < max_networks:
        return chain
    return [*chain[: max_networks - 2], chain[-1]]


def networks_of(model: ModelVersion) -> list[int]:
    """Ids of the versions whose own networks ``model`` averages, itself first."""
    return [model.id, *(model.ensemble_with_ids or [])]


def member_keys(db: Session, model: ModelVersion) -> list[str]:
    """Checkpoint keys of the networks the version averages, its own first."""
    ids = list(model.ensemble_with_ids or [])
    if not ids:
        return [model.checkpoint_key]
    rows = checkpoint_keys(db, ids)
    return [model.checkpoint_key] + [rows[i] for i in ids if i in rows]


def checkpoint_keys(db: Session, ids: list[int]) -> dict[int, str]:
    """Version id -> checkpoint key, for the versions that exist."""
    query = select(ModelVersion.id, ModelVersion.checkpoint_key).where(ModelVersion.id.in_(ids))
    return {version_id: key for version_id, key in db.execute(query)}
