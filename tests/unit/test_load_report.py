"""The load tool's parsing and report code (bench/load.py): Locust's CSV, the truth check, the per-route verdicts,
the process summaries. The runs themselves (`make load`, `make stress`, `make soak`) are not part of `make test`."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from bench import load

HEADER = (
    "Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,Min Response Time,"
    "Max Response Time,Average Content Size,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%"
)


def _stats(tmp_path: Path) -> Path:
    path = tmp_path / "run_stats.csv"
    path.write_text(
        "\n".join(
            [
                HEADER,
                "GET,GET /leaderboard,1000,0,12,20.5,3,400,900,16.6,0.0,12,15,18,20,60,120,180,250,390,400,400",
                "GET,GET /leaderboard/me,300,3,30,40.1,5,900,500,5.0,0.05,30,40,50,60,150,260,500,800,900,900,900",
                "POST,POST /api/trades,60,0,90,95.0,40,300,200,1.0,0.0,90,95,100,110,150,180,250,300,300,300,300",
                "WSPUSH,leaderboard push delay,500,0,150,160.0,20,700,800,8.3,0.0,"
                "150,170,200,220,300,400,600,650,700,700,700",
                "POST,setup: /local/token,10,0,5,5.0,1,9,10,0.1,0.0,5,5,5,5,9,9,9,9,9,9,9",
                ",Aggregated,1870,3,20,30.0,1,900,700,31.0,0.05,20,30,40,50,120,200,300,400,900,900,900",
            ]
        )
        + "\n"
    )
    return path


def test_locust_stats_are_read_per_route(tmp_path: Path) -> None:
    """Given a Locust stats CSV with product routes, a WebSocket measure, a setup call and the Aggregated row
    When it is read
    Then each row keeps its type, name, counts and the 50th, 95th and 99th percentiles as numbers."""
    rows = load.read_stats(_stats(tmp_path))

    by_name = {row["name"]: row for row in rows}
    assert set(by_name) == {
        "GET /leaderboard",
        "GET /leaderboard/me",
        "POST /api/trades",
        "leaderboard push delay",
        "setup: /local/token",
        "Aggregated",
    }
    board = by_name["GET /leaderboard"]
    assert (board["type"], board["Request Count"], board["Failure Count"]) == ("GET", 1000.0, 0.0)
    assert (board["50%"], board["95%"], board["99%"]) == (12.0, 120.0, 250.0)


def test_route_table_judges_the_targets_per_route(tmp_path: Path) -> None:
    """Given the stats and the 200/304 counts of two conditional routes
    When the per-route table is rendered for a 60 s run
    Then the board's p95 of 120 ms meets the 200 ms target and its 95% 304 share meets the cache target, my-rank's
    p95 of 260 ms and no 304 at all do not, the trade feed is judged on p95 only, the setup call is left out and
    the WebSocket measure carries no API verdict."""
    conditional = {"GET /leaderboard": {"200": 50, "304": 950}, "GET /leaderboard/me": {"200": 300}}

    text = load.route_table(load.read_stats(_stats(tmp_path)), conditional, 60.0)

    lines = {line.split(" | ")[0].lstrip("| "): line for line in text.splitlines()[2:]}
    assert "met (p95 120 ms); cache: met (95.0%)" in lines["GET /leaderboard"]
    assert "| 16.7 |" in lines["GET /leaderboard"]  # 1,000 requests in 60 s
    assert "NOT met (p95 260 ms); cache: NOT met, no ETag on this route" in lines["GET /leaderboard/me"]
    assert "| 1.00% |" in lines["GET /leaderboard/me"]  # 3 failures of 300
    assert lines["POST /api/trades"].endswith("met (p95 180 ms) |")
    assert lines["WSPUSH leaderboard push delay"].endswith("| - |")
    assert not any("setup" in line for line in lines)


def test_final_board_is_compared_with_the_truth() -> None:
    """Given the volumes the feed's acknowledged batches add up to and a board with one score short, one trader
    missing and one trader nobody traded for
    When they are compared
    Then the short score, the missing trader and the stranger are each reported, and the probe's total counts."""
    truth = {"ann": "150.5", "bob": "20", "cy": "7"}
    scores = {"ann": Decimal("150.5"), "bob": Decimal("19"), "probe": Decimal("100000"), "zed": Decimal(1)}

    result = load.compare(truth, scores, "probe", "100000")

    assert result["traders"] == 4 and result["on_board"] == 4
    assert result["wrong"] == {
        "bob": {"expected": "20", "board": "19"},
        "cy": {"expected": "7", "board": "None"},
    }
    assert result["unexpected"] == ["zed"]
    assert load.compare({"ann": "1.50"}, {"ann": Decimal("1.5"), "p": Decimal(2)}, "p", "2")["wrong"] == {}


def test_process_samples_are_summarised_and_memory_growth_shows_as_a_slope() -> None:
    """Given a process sampled every 10 s for 10 minutes whose memory grows 1 MiB a sample, and one that stays flat
    When the samples are summarised
    Then CPU mean and peak cover only the window asked for, and the growing process's slope is 360 MiB an hour
    while the flat one's is 0."""
    mib = 2**20
    samples = [
        {
            "t": 1000.0 + 10 * n,
            "stack": {"cpu": 50.0 + (n % 2) * 20, "rss": (100 + n) * mib},
            "java": {"cpu": 10.0, "rss": 300 * mib},
        }
        for n in range(60)
    ]

    window = load.cpu_summary(samples, 1000.0, 1100.0)
    assert window["stack"]["cpu_mean"] == 60.0 and window["stack"]["cpu_max"] == 70.0
    assert window["stack"]["rss_max_mib"] == 109.0
    growing, flat = load.memory_trend(samples, "stack"), load.memory_trend(samples, "java")
    assert growing is not None and flat is not None
    assert round(growing["slope_mib_per_hour"]) == 360 and (growing["start"], growing["end"]) == (100.0, 159.0)
    assert flat["slope_mib_per_hour"] == 0.0
    assert load.percentile([3.0, 1.0, 2.0, 4.0], 50) == 2.0 and load.percentile([], 95) is None


def test_stress_verdict_names_what_saturated_first() -> None:
    """Given the last step's samples: once with the whole machine busy and our processes under a core, once with
    the stack at a full core
    When the verdict is written
    Then it names the shared machine in the first case and the stack in the second."""

    def result(stack_cpu: float) -> dict:
        samples = [
            {"t": 10.0 + n, "stack": {"cpu": stack_cpu, "rss": 1}, load.MACHINE: {"cpu": 200.0, "rss": 0}}
            for n in range(5)
        ]
        return {"extra": {"steps": [{"start": 10.0, "end": 20.0}]}, "samples": samples}

    assert "First to saturate: the machine's cores" in load.saturation_verdict(result(50.0))
    assert "First to saturate: stack, a whole core" in load.saturation_verdict(result(98.0))
