"""Which versions a candidate averages with: the active one and its partners, newest first,
the oldest kept when the cap is reached."""

from backend.loop.ensembles import partners_for_candidate
from backend.orm import ModelVersion


def _version(version_id: int, partners: list[int]) -> ModelVersion:
    return ModelVersion(id=version_id, ensemble_with_ids=partners)


def test_nothing_to_average_without_an_active_version_or_with_a_cap_of_one() -> None:
    assert partners_for_candidate(None, 4) == []
    assert partners_for_candidate(_version(3, [2, 1]), 1) == []


def test_the_active_version_and_its_partners_newest_first_up_to_the_cap() -> None:
    assert partners_for_candidate(_version(1, []), 4) == [1]
    assert partners_for_candidate(_version(3, [2, 1]), 4) == [3, 2, 1]
    # Four networks in all: the candidate's own and three. The oldest (the loop's first
    # version) stays; the next oldest goes.
    assert partners_for_candidate(_version(4, [3, 2, 1]), 4) == [4, 3, 1]
    assert partners_for_candidate(_version(5, [4, 3, 1]), 4) == [5, 4, 1]
    assert partners_for_candidate(_version(5, [4, 3, 1]), 2) == [1]
