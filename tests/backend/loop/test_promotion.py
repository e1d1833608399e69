"""The rule that keeps a worse model from going live."""

import pytest

from backend.loop.promotion import decide


@pytest.mark.parametrize(
    ("candidate", "active", "promote", "said"),
    [
        ({"object_f1": 0.80, "dice": 0.70}, {"object_f1": 0.75, "dice": 0.90}, True, ">"),
        ({"object_f1": 0.70, "dice": 0.95}, {"object_f1": 0.75, "dice": 0.90}, False, "<"),
        # Tied on object F1 (common on one or two validation images): Dice decides.
        ({"object_f1": 1.0, "dice": 0.88}, {"object_f1": 1.0, "dice": 0.90}, False, "tied"),
        ({"object_f1": 1.0, "dice": 0.91}, {"object_f1": 1.0, "dice": 0.90}, True, "tied"),
        ({"object_f1": 1.0, "dice": 0.90}, {"object_f1": 1.0, "dice": 0.90}, True, ">="),
        ({"object_f1": float("nan"), "dice": 0.9}, {"object_f1": 0.5}, False, "not a number"),
    ],
)
def test_instance_candidate_must_be_at_least_as_good(
    candidate: dict, active: dict, promote: bool, said: str
) -> None:
    decision, reason = decide(candidate, active, has_active=True, kind="instance")
    assert decision is promote
    assert said in reason


def test_semantic_uses_dice_then_iou() -> None:
    tied = {"dice": 0.8, "iou": 0.7}
    assert decide({"dice": 0.81, "iou": 0.5}, tied, True, "semantic")[0]
    assert not decide({"dice": 0.8, "iou": 0.69}, tied, True, "semantic")[0]


def test_first_version_goes_live_and_no_validation_blocks_the_next() -> None:
    assert decide({}, None, has_active=False, kind="instance") == (
        True,
        "first version; not validated (only one labeled image)",
    )
    promote, reason = decide({}, None, has_active=True, kind="instance")
    assert not promote and "label more images" in reason
