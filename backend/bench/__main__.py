import argparse
import sys
from pathlib import Path

from backend.bench.loop import LoopConfig, run_loop
from backend.loop.selection import Strategy


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m backend.bench")
    sub = parser.add_subparsers(dest="command", required=True)
    loop = sub.add_parser("loop", help="play a scientist through the REST API, round by round")
    loop.add_argument(
        "--data", type=Path, required=True, help="dsb2018 folder (images/, labels/, split.csv)"
    )
    loop.add_argument("--rounds", type=int, default=6)
    loop.add_argument("--per-round", type=int, default=4)
    loop.add_argument("--pool", type=int, default=96, help="pool images uploaded (0 = all 564)")
    loop.add_argument(
        "--test", type=int, default=40, help="test images scored each round (0 = all 100)"
    )
    loop.add_argument("--pretrain-minutes", type=float, default=4.0)
    loop.add_argument("--train-minutes", type=float, default=2.0)
    loop.add_argument("--strategy", default="uncertainty")
    loop.add_argument("--seed", type=int, default=0)
    loop.add_argument("--out", type=Path, default=Path("bench-results/loop.json"))
    loop.add_argument(
        "--keep",
        type=Path,
        help="an empty or new folder: keep the service's database, checkpoints and log there",
    )
    args = parser.parse_args(argv)
    if not (args.data / "split.csv").is_file():
        parser.error(f"{args.data} has no split.csv; point --data at ../shared/data/dsb2018")
    keep = args.keep
    if keep is not None and keep.exists() and (not keep.is_dir() or any(keep.iterdir())):
        parser.error(f"--keep {keep} is not an empty folder; give a new or empty one")
    for name in ("rounds", "per_round"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    for name in ("pool", "test"):
        if getattr(args, name) < 0:
            parser.error(f"--{name} must be 0 or more")
    for name in ("pretrain_minutes", "train_minutes"):
        if not 0 < getattr(args, name) <= 24 * 60:
            parser.error(f"--{name.replace('_', '-')} must be a number of minutes in (0, 1440]")
    if args.strategy not in set(Strategy):
        parser.error(f"--strategy must be one of {', '.join(Strategy)}")
    if args.out.is_dir():
        # Written only at the end: found out now, not after the whole loop.
        parser.error(f"--out {args.out} is a folder; give a file name such as loop.json")
    config = LoopConfig(
        data=args.data,
        rounds=args.rounds,
        per_round=args.per_round,
        pool=args.pool,
        test=args.test,
        pretrain_minutes=args.pretrain_minutes,
        train_minutes=args.train_minutes,
        strategy=args.strategy,
        seed=args.seed,
        out=args.out,
        keep=args.keep,
    )
    run_loop(config)
    return 0


if __name__ == "__main__":
    sys.exit(main())
