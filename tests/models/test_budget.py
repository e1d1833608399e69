from __future__ import annotations

import pytest

from models.training import Budget


def test_budget_fraction_follows_the_binding_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = iter([0.0, 30.0, 30.0, 30.0])
    monkeypatch.setattr("models.training.budget.time.monotonic", lambda: next(clock))
    budget = Budget(max_steps=100, max_minutes=1.0)
    assert budget.fraction(10) == pytest.approx(0.5)  # half the minute beats a tenth of the steps


def test_budget_is_exhausted_when_should_stop_says_so() -> None:
    budget = Budget(max_steps=100, max_minutes=None, should_stop=lambda: True)
    assert budget.exhausted(0) and budget.cancelled


def test_budget_needs_a_limit() -> None:
    with pytest.raises(ValueError, match="max_steps or max_minutes"):
        Budget(max_steps=None, max_minutes=None)
