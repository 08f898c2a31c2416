from __future__ import annotations

from datetime import UTC, datetime, timedelta

from os1.companion.affect import AffectState, read_mood
from os1.companion.relationship import stage_for


def test_reads_clear_moods() -> None:
    assert read_mood("I'm so stressed about tomorrow").mood == "anxious"
    assert read_mood("I got the job!! I'm so happy").mood == "happy"
    assert read_mood("I feel lonely tonight").mood == "lonely"
    assert read_mood("Pass the salt").mood == "neutral"


def test_negation_is_respected() -> None:
    assert read_mood("I'm not worried at all").mood == "neutral"


def test_state_is_smoothed_and_companion_responds() -> None:
    state = AffectState()
    sad = state.update(read_mood("I'm really sad, my cat died"))
    assert sad.user_mood == "sad"
    assert sad.companion_mood == "tender"
    assert sad.user_valence < 0
    after_neutral = sad.update(read_mood("Anyway, what's the weather"))
    assert after_neutral.user_valence > sad.user_valence
    assert AffectState.from_dict(after_neutral.to_dict()) == after_neutral


def test_relationship_grows_with_time_and_talk() -> None:
    now = datetime(2026, 11, 26, tzinfo=UTC)
    assert stage_for(0, None, now).name == "new"
    assert stage_for(25, now - timedelta(days=2), now).name == "acquainted"
    assert stage_for(25, now - timedelta(hours=2), now).name == "new"
    assert stage_for(200, now - timedelta(days=10), now).name == "friends"
    assert stage_for(1000, now - timedelta(days=90), now).name == "close"
