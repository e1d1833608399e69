"""How much a scientist changed a proposal: the figure that says when the model is good enough."""

from dataclasses import dataclass

import numpy as np

UNCHANGED_IOU = 0.9


@dataclass(frozen=True)
class CorrectionStats:
    changed_fraction: float  # pixels whose label changed / all pixels
    # Pixels an annotator starting from an empty mask would have drawn (non-background in the
    # final mask) / all pixels: what ``changed_fraction`` is weighed against, since a dense
    # image costs more to correct than a sparse one whatever the model.
    empty_start_fraction: float
    objects_proposed: int
    objects_final: int
    objects_unchanged: int  # proposed objects kept with IoU >= 0.9
    objects_added: int  # final objects that overlap no proposed object
    objects_removed: int  # proposed objects that overlap no final object


def _instance_pairs(
    proposal: np.ndarray, final: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Overlap counts between every proposed and every final object, from one joint histogram.

    Returns (ids of proposal, ids of final, intersection matrix).
    """
    p_ids, p_inv = np.unique(proposal, return_inverse=True)
    f_ids, f_inv = np.unique(final, return_inverse=True)
    joint = np.bincount(
        p_inv.ravel() * len(f_ids) + f_inv.ravel(), minlength=len(p_ids) * len(f_ids)
    )
    return p_ids, f_ids, joint.reshape(len(p_ids), len(f_ids))


def compare(proposal: np.ndarray, final: np.ndarray, kind: str) -> CorrectionStats:
    """Shape: both (H, W) label images of one convention (instance ids or class indices)."""
    if proposal.shape != final.shape:
        raise ValueError(f"proposal {proposal.shape} and final {final.shape} differ in size")
    # Instance ids are arbitrary numbers, so there a changed pixel is one whose foreground state
    # changed; object-level edits are counted below.
    changed = (proposal > 0) != (final > 0) if kind == "instance" else proposal != final
    changed_fraction = float(np.count_nonzero(changed)) / max(1, proposal.size)
    empty_start_fraction = float(np.count_nonzero(final)) / max(1, final.size)
    if kind != "instance":
        proposal, final = _semantic_components(proposal), _semantic_components(final)
    p_ids, f_ids, inter = _instance_pairs(proposal, final)
    p_area = inter.sum(axis=1)
    f_area = inter.sum(axis=0)
    p_fg, f_fg = p_ids != 0, f_ids != 0
    inter_fg = inter[np.ix_(p_fg, f_fg)].astype(np.float64)
    union = p_area[p_fg][:, None] + f_area[f_fg][None, :] - inter_fg
    iou = np.divide(inter_fg, union, out=np.zeros_like(inter_fg), where=union > 0)
    n_p, n_f = int(p_fg.sum()), int(f_fg.sum())
    # IoU >= 0.9 matches are necessarily one-to-one, so no assignment problem to solve.
    unchanged = int((iou >= UNCHANGED_IOU).any(axis=1).sum()) if n_p and n_f else 0
    removed = int((inter_fg.sum(axis=1) == 0).sum()) if n_p else 0
    added = int((inter_fg.sum(axis=0) == 0).sum()) if n_f else 0
    if n_p and not n_f:
        removed = n_p
    if n_f and not n_p:
        added = n_f
    return CorrectionStats(
        changed_fraction, empty_start_fraction, n_p, n_f, unchanged, added, removed
    )


def _semantic_components(labels: np.ndarray) -> np.ndarray:
    """Connected regions of each class, numbered as objects, so semantic masks count objects too."""
    from skimage.measure import label

    out = np.zeros(labels.shape, dtype=np.int32)
    offset = 0
    for cls in np.unique(labels):
        if cls == 0:
            continue
        comp = label(labels == cls, connectivity=1)
        out[comp > 0] = comp[comp > 0] + offset
        offset += int(comp.max())
    return out
