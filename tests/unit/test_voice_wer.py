"""Word error rate and the text normalisation behind it."""

from __future__ import annotations

import pytest

from os1.voice.wer import (
    WordErrors,
    corpus_word_error_rate,
    normalize_text,
    number_to_words,
    word_error_rate,
    word_errors,
)


def test_identical_texts() -> None:
    assert word_error_rate("the cat sat", "the cat sat") == 0.0


def test_case_and_punctuation_do_not_count() -> None:
    reference = "THE CHILD ALMOST HURT THE SMALL DOG"
    assert word_error_rate(reference, "The child almost hurt the small dog.") == 0.0
    assert word_error_rate("Ever tried. Ever failed.", "ever tried, ever failed!") == 0.0
    assert word_error_rate("What joy there is in living", "What joy there is in living?") == 0.0


@pytest.mark.parametrize(
    ("digits", "words"),
    [
        ("0", "zero"),
        ("7", "seven"),
        ("11", "eleven"),
        ("15", "fifteen"),
        ("20", "twenty"),
        ("25", "twenty-five"),
        ("90", "ninety"),
        ("100", "one hundred"),
        ("115", "one hundred fifteen"),
        ("1,000", "one thousand"),
        ("2026", "two thousand twenty six"),
        ("3000000", "three million"),
    ],
)
def test_numbers_as_digits_or_words_agree(digits: str, words: str) -> None:
    assert word_error_rate(f"I have {words} cats", f"I have {digits} cats") == 0.0
    assert word_error_rate(f"I have {digits} cats", f"I have {words} cats") == 0.0


def test_number_to_words() -> None:
    assert [number_to_words(n) for n in range(0, 21, 5)] == [
        "zero",
        "five",
        "ten",
        "fifteen",
        "twenty",
    ]
    assert number_to_words(42) == "forty two"
    assert number_to_words(1_000_001) == "one million one"
    assert number_to_words(-3) == "minus three"


def test_a_wrong_number_is_still_wrong() -> None:
    assert word_errors("meet at 5", "meet at 6") == WordErrors(1, 0, 0, 3)


def test_contractions_stay_one_word_and_apostrophes_are_straightened() -> None:
    assert normalize_text("I don’t know, it’s fine") == ["i", "don't", "know", "it's", "fine"]
    assert word_error_rate("don't go", "Don’t go.") == 0.0
    assert word_errors("don't go", "do not go") == WordErrors(1, 0, 1, 2)


def test_quotes_and_hyphens() -> None:
    assert normalize_text("'Hello,' she said -- well-known fact") == [
        "hello",
        "she",
        "said",
        "well",
        "known",
        "fact",
    ]


def test_substitutions_deletions_and_insertions_are_counted() -> None:
    reference = "mend the coat before you go out"
    assert word_errors(reference, "men the coat before you go out") == WordErrors(1, 0, 0, 7)
    assert word_errors(reference, "mend the coat before you go") == WordErrors(0, 1, 0, 7)
    assert word_errors(reference, "mend the old coat before you go out") == WordErrors(0, 0, 1, 7)
    assert word_error_rate(reference, "men the coat before you go") == pytest.approx(2 / 7)


def test_the_alignment_is_minimal() -> None:
    # Shifting every word would be 4 substitutions; one deletion and one insertion is 2.
    errors = word_errors("a b c d", "b c d e")
    assert errors.edits == 2
    assert (errors.deletions, errors.insertions) == (1, 1)


def test_insertions_can_push_the_rate_past_one() -> None:
    assert word_error_rate("yes", "yes yes yes yes") == 3.0


def test_empty_texts() -> None:
    assert word_error_rate("", "") == 0.0
    assert word_error_rate("...", "") == 0.0
    assert word_error_rate("", "thank you") == 1.0
    assert word_error_rate("hello there", "") == 1.0


def test_corpus_rate_weighs_by_reference_length() -> None:
    pairs = [
        (
            "one two three four five six seven eight nine ten",
            "one two three four five six seven eight nine ten",
        ),
        ("hello", "goodbye"),
    ]
    # One edit over eleven words, not the mean of 0 % and 100 %.
    assert corpus_word_error_rate(pairs) == pytest.approx(1 / 11)
    assert corpus_word_error_rate([]) == 0.0


def test_word_errors_add_up() -> None:
    total = WordErrors(1, 2, 3, 10) + WordErrors(0, 1, 0, 5)
    assert total == WordErrors(1, 3, 3, 15)
    assert total.edits == 7
    assert total.rate == pytest.approx(7 / 15)
