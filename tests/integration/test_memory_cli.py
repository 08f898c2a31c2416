"""`os1 memory` as a user runs it, with the real embedding model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from os1.memory import memorybank
from tests.helpers import run_os1, set_up

MEMORYBANK = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "memorybank"


@pytest.fixture
def ready(home: Path) -> Path:
    set_up(home, "Emily", "female")
    return home


def write(path: Path, records: list[dict[str, str]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


@pytest.mark.skipif(not MEMORYBANK.exists(), reason="../shared/fixtures is not beside the project")
def test_ingest_and_browse_the_memorybank_corpus(ready: Path, tmp_path: Path) -> None:
    users = memorybank.load(MEMORYBANK / "memory_bank_en.json")
    path = write(tmp_path / "emily.jsonl", memorybank.to_records(users["Emily"]))
    done = run_os1("memory", "import", str(path), "--json", home=ready)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["added"] == report["read"] > 50
    again = json.loads(run_os1("memory", "import", str(path), "--json", home=ready).stdout)
    assert again["added"] == 0 and again["already_known"] == report["read"]

    found = run_os1(
        "memory",
        "search",
        "which exhibition did I see at the museum",
        "--k",
        "5",
        "--json",
        home=ready,
    )
    hits = json.loads(found.stdout)
    assert 1 <= len(hits) <= 5
    for hit in hits:
        assert set(hit) >= {"id", "kind", "text", "time", "score", "sources"}
        assert hit["kind"] in ("episode", "fact", "profile")
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)
    assert any("museum" in h["text"].lower() for h in hits[:3])

    shown = json.loads(run_os1("memory", "show", hits[0]["id"], "--json", home=ready).stdout)
    assert shown["id"] == hits[0]["id"]
    profile = run_os1("memory", "consolidate", "--json", home=ready)
    assert profile.returncode == 0 and json.loads(profile.stdout)["text"]
    exported = tmp_path / "everything.json"
    assert run_os1("memory", "export", str(exported), home=ready).returncode == 0
    data = json.loads(exported.read_text())
    days = [c for c in data["conversations"] if c["id"].startswith("mb-emily-")]
    assert len(days) == 10 and data["profile"]["text"]


def test_a_forgotten_thing_cannot_be_found_by_any_route(ready: Path, tmp_path: Path) -> None:
    path = write(
        tmp_path / "t.jsonl",
        [
            {
                "id": "a1",
                "conversation": "c1",
                "time": "2026-11-02T18:00:00+00:00",
                "speaker": "Emily",
                "text": "I'm allergic to penicillin, it nearly killed me once.",
            },
            {
                "id": "a2",
                "conversation": "c1",
                "time": "2026-11-02T18:01:00+00:00",
                "speaker": "AI",
                "text": "That sounds frightening. I'm glad you're okay.",
            },
            {
                "id": "a3",
                "conversation": "c1",
                "time": "2026-11-02T18:02:00+00:00",
                "speaker": "Emily",
                "text": "My sister Annie is a nurse, she knew what to do.",
            },
        ],
    )
    assert run_os1("memory", "import", str(path), home=ready).returncode == 0
    facts = json.loads(run_os1("memory", "list", "--json", home=ready).stdout)
    allergy = next(f for f in facts if "penicillin" in f["text"])
    assert allergy["sources"] == ["a1"]
    run_os1("memory", "consolidate", home=ready)

    gone = json.loads(run_os1("memory", "forget", "a1", "--json", home=ready).stdout)
    assert gone["messages"] == ["a1"] and gone["facts"] == [allergy["id"]]
    for query in ("penicillin", "allergic", "what am I allergic to", "medicine reaction"):
        hits = json.loads(run_os1("memory", "search", query, "--json", home=ready).stdout)
        assert all("penicillin" not in h["text"] and "a1" not in h["sources"] for h in hits)
    assert "penicillin" not in run_os1("memory", "list", "--kind", "profile", home=ready).stdout
    assert "penicillin" not in run_os1("memory", "export", "-", home=ready).stdout
    missing = run_os1("memory", "show", "a1", home=ready)
    assert missing.returncode == 2 and "Nothing is remembered" in missing.stderr


def test_search_can_be_asked_as_of_another_day(ready: Path, tmp_path: Path) -> None:
    path = write(
        tmp_path / "t.jsonl",
        [
            {
                "id": "d1",
                "conversation": "c1",
                "time": "2024-05-14T18:00:00+00:00",
                "speaker": "Emily",
                "text": "I cooked a Thai curry tonight.",
            },
            {
                "id": "d2",
                "conversation": "c2",
                "time": "2024-05-16T18:00:00+00:00",
                "speaker": "Emily",
                "text": "I cooked pasta tonight.",
            },
        ],
    )
    run_os1("memory", "import", str(path), home=ready)
    asked = run_os1(
        "memory",
        "search",
        "what did I cook last Tuesday",
        "--now",
        "2024-05-20T12:00:00+00:00",
        "--json",
        home=ready,
    )
    assert json.loads(asked.stdout)[0]["id"] == "d1"
    bad = run_os1("memory", "search", "x", "--now", "someday", home=ready)
    assert bad.returncode == 2 and "not an ISO 8601 time" in bad.stderr


def test_edit_corrects_a_fact(ready: Path, tmp_path: Path) -> None:
    path = write(
        tmp_path / "t.jsonl",
        [
            {
                "id": "b1",
                "conversation": "c1",
                "time": "2026-11-02T18:00:00+00:00",
                "speaker": "Emily",
                "text": "My favourite book is Dune.",
            },
        ],
    )
    run_os1("memory", "import", str(path), home=ready)
    fact = json.loads(run_os1("memory", "list", "--json", home=ready).stdout)[0]
    done = run_os1(
        "memory", "edit", fact["id"], "Emily's favourite book is Middlemarch.", "--json", home=ready
    )
    assert done.returncode == 0, done.stderr
    hits = json.loads(run_os1("memory", "search", "Middlemarch", "--json", home=ready).stdout)
    assert hits[0]["id"] == fact["id"]


def test_a_bad_import_file_is_named_with_its_line(ready: Path, tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(
        '{"id": "x", "conversation": "c", "time": "2026-01-01T00:00:00Z",'
        ' "speaker": "Emily", "text": "fine"}\n{oops\n'
    )
    done = run_os1("memory", "import", str(path), home=ready)
    assert done.returncode == 2
    assert f"{path}, line 2 is not valid JSON" in done.stderr
    assert json.loads(run_os1("history", "--json", home=ready).stdout)[-1]["text"] != "fine"


def test_saying_forget_that_in_chat(ready: Path) -> None:
    lines = b"My therapist is Dr Moss.\nPlease forget that.\n"
    done = run_os1("--model", "fake", "chat", home=ready, stdin=lines)
    assert done.returncode == 0, done.stderr
    assert "I've forgotten that" in done.stdout
    hits = json.loads(run_os1("memory", "search", "therapist Moss", "--json", home=ready).stdout)
    assert all("Moss" not in h["text"] for h in hits)
