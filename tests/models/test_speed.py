from __future__ import annotations

from typer.testing import CliRunner

from models.speed import main, prediction_times


def test_prediction_times_gives_one_positive_time_per_repeat() -> None:
    times = prediction_times("small", 32, 3)
    assert len(times) == 3 and all(t > 0 for t in times)


def test_speed_command_reports_the_median_and_rejects_an_unknown_encoder() -> None:
    import typer

    app = typer.Typer()
    app.command()(main)
    ok = CliRunner().invoke(app, ["--size", "32", "--repeats", "2"])
    assert ok.exit_code == 0 and "median" in ok.stdout
    bad = CliRunner().invoke(app, ["--encoder", "vit"])
    assert bad.exit_code == 2 and "unknown encoder" in bad.output
