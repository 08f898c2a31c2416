"""The reply checks of `os1 bench replies`, on replies written to pass or fail."""

from __future__ import annotations

from collections import Counter

import pytest

from os1.bench.replies import check, load_cases

CASE = {
    "user": "My sister Annie is coming to visit next week.",
    "history": [],
    "mention_any": [["annie", "sister", "visit"]],
    "avoid": ["don't want to see her"],
}


@pytest.mark.parametrize(
    ("reply", "failure"),
    [
        ("How lovely that Annie is coming! What will you two do?", None),
        ("I'm sorry.", "generic one-liner"),
        (
            "That's good. I don't want to see her, but she will be here soon.",
            "says what it must not",
        ),
        ("What a week. How was work today?", "misses what it must mention"),
        ("Your sister? Theo: yes, Annie.", "narrates or writes the user's lines"),
        ("*smiles* Annie is coming, how nice.", "narrates or writes the user's lines"),
        ("Will Annie bring Marcus along this time?", "names someone never mentioned"),
        ("Your sister Annie is coming to visit next week.", "gives the user's words back"),
        ("", "empty"),
    ],
)
def test_each_check_catches_its_fault(reply: str, failure: str | None) -> None:
    failed = check(reply, CASE, "Theo", "Samantha")
    assert failed == ([] if failure is None else [failure]) or (failure in failed), failed


def test_the_cases_hold_a_third_of_each_class_out() -> None:
    data = load_cases()
    cases = data["cases"]
    assert len(cases) >= 70 and len({c["id"] for c in cases}) == len(cases)
    by_class = Counter(c["class"] for c in cases)
    held = Counter(c["class"] for c in cases if c["split"] == "heldout")
    assert sum(1 for c in cases if c["history"]) >= 10  # multi-turn cases
    for name, count in by_class.items():
        assert abs(held[name] - count / 3) <= 1, name


def test_the_benchmark_runs_both_systems_on_every_case() -> None:
    from os1.bench.replies import run_replies_bench
    from os1.llm.fake import FakeLLM

    report = run_replies_bench(FakeLLM(), show_replies=True, repeats=1)
    assert report["cases"] == len(load_cases()["cases"])
    assert report["dev"]["cases"] + report["heldout"]["cases"] == report["cases"]
    for split in ("dev", "heldout"):
        for system in ("ours", "plain_prompting"):
            assert 0.0 <= report[split][system]["pass_rate"] <= 1.0
    assert all(row["ours"]["reply"] for row in report["replies"])
