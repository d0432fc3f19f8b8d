"""`python -m bench [--quick | --sizes 1000,10000] [--samples 200] [--naive-samples N] [--ingest-threads 4]
[--output PATH]`: the Arena benchmark (figures, not assertions), results in bench/RESULTS.md: the leaderboard
(ingest, refresh, reads against a naive baseline), prize distribution, then the real-time fan-out.
`python -m bench distribution [...]` and `python -m bench fanout [...]` run those parts alone; `python -m bench
rate_limits [...]` measures what the rate limit adds to a request; `python -m bench rollups [...]` the analytics
rollups' writes per ingested trade; `python -m bench analytics [...]` the performance and dashboard reads against
the number of trades; `python -m bench notifications [--participants N]` an event-started reminder to every
participant of an event, planned and stored in the inboxes;
`python -m bench chat [...]` event chat messages per second through one channel."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from bench.harness import Options, log, run

FULL_SIZES = [1_000, 10_000, 100_000]
QUICK_SIZES = [1_000, 10_000]


def parse(argv: list[str]) -> Options:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--sizes", help="comma-separated participant counts (default 1000,10000,100000)")
    parser.add_argument("--quick", action="store_true", help="only 1,000 and 10,000 participants (development)")
    parser.add_argument("--samples", type=int, default=200, help="calls per read figure (default 200)")
    parser.add_argument(
        "--naive-samples",
        type=int,
        help="users for the naive my-rank/around-me figures (default: all samples up to 10,000 participants, "
        "then max(20, 2,000,000 / N), evenly spaced by rank)",
    )
    parser.add_argument("--ingest-threads", type=int, default=4, help="threads posting trade batches (default 4)")
    parser.add_argument("--output", type=Path, default=Options.output, help="where to write the results (Markdown)")
    args = parser.parse_args(argv)
    if args.sizes:
        sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    else:
        sizes = QUICK_SIZES if args.quick else FULL_SIZES
    return Options(
        sizes=sizes,
        samples=args.samples,
        naive_samples=args.naive_samples,
        ingest_threads=args.ingest_threads,
        output=args.output,
    )


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["distribution"]:
        from bench import distribution

        return distribution.main(argv[1:])
    if argv[:1] == ["fanout"]:  # `python -m bench fanout [...]`: the real-time fan-out alone (bench/fanout.py)
        from bench import fanout

        return fanout.main(argv[1:])
    if argv[:1] == ["rollups"]:  # analytics rollup writes per ingested trade (bench/rollups.py)
        from bench import rollups

        return rollups.main(argv[1:])
    if argv[:1] == ["analytics"]:  # performance and dashboard reads at 10k and 1M trades (bench/analytics.py)
        from bench import analytics

        return analytics.main(argv[1:])
    if argv[:1] == ["notifications"]:  # an event-started reminder to every participant (bench/notifications.py)
        from bench import notifications

        return notifications.main(argv[1:])
    if argv[:1] == ["chat"]:  # event chat: messages/s through one channel with 1,000 watchers (bench/chat.py)
        from bench import chat

        return chat.main(argv[1:])
    if argv[:1] == ["rate_limits"]:  # what the rate limit adds to a request (bench/rate_limits.py)
        from bench import rate_limits

        return rate_limits.main(argv[1:])
    options = parse(argv)
    results, info = run(options)
    from bench import distribution, report  # after run(): the environment and sys.path are set

    print(report.summary(results, options))
    options.output.write_text(report.document(options, results, info))
    prizes = distribution.section(distribution.run_all(options.sizes))
    print(prizes)
    distribution.write_section(prizes, options.output)
    log(f"whole run {info['total_seconds'] / 60:.1f} min; results written to {options.output}")
    # The real-time fan-out runs its own local stack: a separate process, its section added to the same file.
    fanout = [sys.executable, "-m", "bench", "fanout", "--output", str(options.output)]
    status = subprocess.call([*fanout, "--sizes", "1000"] if options.sizes == QUICK_SIZES else fanout)
    # The analytics rollups' writes per trade: their own DynamoDB Local per run, their section in the same file.
    rollups = [sys.executable, "-m", "bench", "rollups", "--output", str(options.output)]
    quick = ["--runs", "1:60,20:120"] if options.sizes == QUICK_SIZES else []
    status = status or subprocess.call([*rollups, *quick])
    # The analytics reads against the number of trades: their own DynamoDB Local per size, their section too.
    reads = [sys.executable, "-m", "bench", "analytics", "--output", str(options.output)]
    return status or subprocess.call([*reads, "--sizes", "10000"] if options.sizes == QUICK_SIZES else reads)


if __name__ == "__main__":
    sys.exit(main())
