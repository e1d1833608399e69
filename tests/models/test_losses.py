from __future__ import annotations

import torch
import torch.nn.functional as F

from models.losses import (
    CEDiceLoss,
    DiceLoss,
    Emphasis,
    MaskedMSELoss,
    VICRegLoss,
    class_weights_from_targets,
)


def _reference_dice_loss(logits: torch.Tensor, target: torch.Tensor) -> float:
    """Slow, obvious per-class loop."""
    probs = logits.softmax(1)
    dices = []
    for k in range(logits.shape[1]):
        truth = (target == k).float()
        if truth.sum() == 0:
            continue
        p = probs[:, k]
        dices.append((2 * (p * truth).sum() + 1) / (p.sum() + truth.sum() + 1))
    return 1 - float(torch.stack(dices).mean())


def test_dice_loss_matches_reference() -> None:
    logits, target = torch.randn(2, 3, 16, 16), torch.randint(0, 2, (2, 16, 16))
    assert abs(float(DiceLoss()(logits, target)) - _reference_dice_loss(logits, target)) < 1e-5


def test_dice_loss_is_near_zero_for_perfect_prediction() -> None:
    target = torch.randint(0, 3, (1, 16, 16))
    logits = 50 * F.one_hot(target, 3).permute(0, 3, 1, 2).float()
    assert float(DiceLoss()(logits, target)) < 1e-3


def test_ce_dice_ignores_ignored_pixels() -> None:
    logits, target = torch.randn(1, 2, 8, 8), torch.randint(0, 2, (1, 8, 8))
    partly_ignored = target.clone()
    partly_ignored[:, :4] = 255
    loss = CEDiceLoss()
    masked_logits = logits.clone()
    masked_logits[:, :, :4] = 100.0  # garbage where ignored must not change the loss
    torch.testing.assert_close(loss(logits, partly_ignored), loss(masked_logits, partly_ignored))


def test_emphasis_reads_its_code_as_its_class_and_weighs_it_up() -> None:
    torch.manual_seed(0)
    logits = torch.randn(2, 3, 8, 8)
    target = torch.randint(0, 3, (2, 8, 8))
    target[:, 4, :] = 254  # the coded line, as class 2
    as_class = torch.where(target == 254, 2, target)
    weights = torch.tensor([0.5, 1.0, 2.0])
    plain = CEDiceLoss(weights)
    # Weight 0: the same loss as plain CE + Dice on the class the code stands for.
    none = CEDiceLoss(weights, emphasis=Emphasis(code=254, as_class=2, weight=0.0))
    torch.testing.assert_close(none(logits, target), plain(logits, as_class))
    # A positive weight counts the coded pixels more: wrong there costs more than elsewhere.
    wrong_on_line = logits.clone()
    wrong_on_line[:, 0, 4, :] = 20.0
    heavy = CEDiceLoss(weights, emphasis=Emphasis(code=254, as_class=2, weight=5.0))
    gap_plain = plain(wrong_on_line, as_class) - plain(logits, as_class)
    gap_heavy = heavy(wrong_on_line, target) - heavy(logits, target)
    assert gap_heavy > gap_plain > 0
    # Class weights count the coded pixels as their class.
    emphasis = Emphasis(code=254, as_class=2, weight=5.0)
    torch.testing.assert_close(
        class_weights_from_targets([target[0]], 3, emphasis=emphasis),
        class_weights_from_targets([as_class[0]], 3),
    )


def test_class_weights_favour_rare_classes() -> None:
    target = torch.zeros(10, 10, dtype=torch.int64)
    target[0, :2] = 1
    weights = class_weights_from_targets([target], 2)
    assert weights[1] > 5 * weights[0]


def test_masked_mse_counts_only_masked_pixels() -> None:
    target, prediction = torch.zeros(1, 1, 4, 4), torch.zeros(1, 1, 4, 4)
    prediction[..., :2, :] = 1.0
    mask = torch.zeros(1, 1, 4, 4)
    mask[..., 2:, :] = 1
    assert float(MaskedMSELoss()(prediction, target, mask)) == 0.0


def test_vicreg_penalises_collapsed_embeddings() -> None:
    loss = VICRegLoss()
    collapsed = torch.ones(32, 8)
    spread = torch.randn(32, 8)
    assert float(loss(collapsed, collapsed)) > float(loss(spread, spread)) + 10
