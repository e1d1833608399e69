import numpy as np
import pytest

from backend.loop.corrections import compare


def _two_objects() -> np.ndarray:
    labels = np.zeros((32, 32), np.uint16)
    labels[2:10, 2:10] = 1
    labels[20:30, 20:30] = 2
    return labels


def test_identical_masks_change_nothing() -> None:
    stats = compare(_two_objects(), _two_objects(), "instance")
    assert stats.changed_fraction == 0
    assert stats.empty_start_fraction == (64 + 100) / 1024
    assert (stats.objects_unchanged, stats.objects_added, stats.objects_removed) == (2, 0, 0)


def test_renumbered_objects_count_as_unchanged() -> None:
    final = _two_objects()
    final[final == 1], final[final == 2] = 7, 3
    stats = compare(_two_objects(), final, "instance")
    assert stats.changed_fraction == 0 and stats.objects_unchanged == 2


def test_added_removed_and_edited_objects_are_counted() -> None:
    final = _two_objects()
    final[final == 2] = 0  # removed
    final[12:16, 12:16] = 3  # added
    final[2:10, 10:14] = 1  # object 1 grown a lot: no longer "unchanged"
    stats = compare(_two_objects(), final, "instance")
    assert stats.objects_removed == 1 and stats.objects_added == 1 and stats.objects_unchanged == 0
    expected = (100 + 16 + 32) / 1024
    assert stats.changed_fraction == pytest.approx(expected)


def test_semantic_class_change_counts_pixels() -> None:
    proposal = np.zeros((10, 10), np.uint8)
    proposal[:5] = 1
    final = proposal.copy()
    final[:5] = 2
    stats = compare(proposal, final, "semantic")
    assert stats.changed_fraction == 0.5
    assert stats.empty_start_fraction == 0.5  # class 0 is what an empty mask holds


def test_drawing_from_empty_changes_the_empty_start_fraction() -> None:
    stats = compare(np.zeros((32, 32), np.uint16), _two_objects(), "instance")
    assert stats.changed_fraction == stats.empty_start_fraction


def test_size_mismatch_is_an_error() -> None:
    with pytest.raises(ValueError, match="differ in size"):
        compare(np.zeros((4, 4)), np.zeros((5, 5)), "instance")
