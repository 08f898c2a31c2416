"""`os1 bench server` in a tiny configuration: a real server process, a few sessions."""

from __future__ import annotations

from os1.bench.server import run_server_benchmark


def test_server_benchmark_reports_sane_numbers() -> None:
    report = run_server_benchmark(sessions=5, messages=12, rate=10.0, voice=False)

    assert report["benchmark"] == "server"
    assert report["voice"] is None
    summary = report["summary"]
    assert summary["voice"] is None
    text = summary["text"]
    assert text["sessions"] == 5
    assert text["messages"] == 12
    assert text["rate_per_s"] == 10.0
    details = report["text"]
    assert details["answered"] == 12 and details["missing"] == 0
    assert details["error_count"] == 0 and details["unexpected_closes"] == []

    for key in ("added_latency_ms", "end_to_end_ms", "fan_out_ms"):
        stats = text[key]
        assert stats["p50"] is not None and stats["p99"] is not None
        assert stats["p50"] <= stats["p99"] <= stats["max"]
        assert stats["max"] < 30_000
    assert text["end_to_end_ms"]["n"] == 12
    assert text["fan_out_ms"]["n"] == 12 * 4  # every other session saw every reply
    # The server's part is what is left of the wait once the model's part is taken off.
    assert text["added_latency_ms"]["p50"] <= text["end_to_end_ms"]["p50"]
    assert details["companion_ms"]["p50"] >= 0

    rss = text["server_rss_mib"]
    assert 10 < rss["before_connections"] <= rss["peak"] < 4096
    assert -1024 < text["memory_per_connection_kib"] < 10 * 1024

    bar = summary["bars"]["added_latency_p99_ms"]
    assert bar["target"] == 30
    assert bar["value"] == text["added_latency_alone_ms"]["p99"]
    assert bar["met"] == (bar["value"] <= 30)
