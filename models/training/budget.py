"""Training budgets (steps and/or minutes, whichever first) and progress reporting."""

from __future__ import annotations

import time
from collections.abc import Callable

from models.config import Progress
from models.device import resolve_device

ProgressCallback = Callable[[Progress], None]
StopCallback = Callable[[], bool]

__all__ = ["Budget", "ProgressCallback", "StopCallback", "resolve_device"]


class Budget:
    """Counts steps and wall-clock time against the limits; ``should_stop`` cancels early."""

    def __init__(
        self,
        max_steps: int | None,
        max_minutes: float | None,
        should_stop: StopCallback | None = None,
        start_step: int = 0,
    ) -> None:
        if max_steps is None and max_minutes is None:
            raise ValueError("a budget needs max_steps or max_minutes")
        self.max_steps, self.max_minutes = max_steps, max_minutes
        self.should_stop = should_stop
        self.start_step = start_step
        self.started = time.monotonic()
        self.cancelled = False

    @property
    def elapsed_s(self) -> float:
        return time.monotonic() - self.started

    def fraction(self, step: int) -> float:
        parts = [0.0]
        if self.max_steps:
            parts.append(step / self.max_steps)
        if self.max_minutes:
            parts.append(self.elapsed_s / (60 * self.max_minutes))
        return min(1.0, max(parts))

    def eta_s(self, step: int) -> float | None:
        done = self.fraction(step)
        steps_run = step - self.start_step
        if done <= 0 or steps_run <= 0:
            return None
        if self.max_steps and step / self.max_steps >= done:
            per_step = self.elapsed_s / steps_run
            return per_step * (self.max_steps - step)
        return max(0.0, 60 * (self.max_minutes or 0) - self.elapsed_s)

    def exhausted(self, step: int) -> bool:
        if self.should_stop is not None and self.should_stop():
            self.cancelled = True
            return True
        if step <= self.start_step and self.max_minutes is not None:
            # A time budget always runs one step: a budget shorter than the set-up would
            # otherwise hand back untrained weights as a trained model.
            return bool(self.max_steps is not None and step >= self.max_steps)
        return self.fraction(step) >= 1.0

    def progress(
        self, phase: str, step: int, metrics: dict[str, float], total: int | None = None
    ) -> Progress:
        return Progress(
            phase=phase,
            step=step,
            total_steps=total if total is not None else self.max_steps,
            fraction=self.fraction(step),
            metrics=metrics,
            elapsed_s=self.elapsed_s,
            eta_s=self.eta_s(step),
        )
