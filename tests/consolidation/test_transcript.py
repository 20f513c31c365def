"""What of a conversation reaches the model: the newest whole turns within the budgets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from aura.consolidation.transcript import CUT_MARK, Turn, build_transcript


def _turns(*contents: str) -> list[dict]:
    return [{"role": "user" if i % 2 == 0 else "assistant", "content": c} for i, c in enumerate(contents)]


def test_everything_within_budget_is_kept_in_order():
    transcript = build_transcript(_turns("a", "b", "c"), max_chars=100, max_turn_chars=50)
    assert [t.content for t in transcript.turns] == ["a", "b", "c"]
    assert (transcript.received, transcript.cut, transcript.chars) == (3, False, 3)


def test_the_oldest_turns_go_first_and_no_turn_is_cut_to_fill_the_rest():
    transcript = build_transcript(_turns("a" * 40, "b" * 40, "c" * 40), max_chars=90, max_turn_chars=50)
    assert [t.content[0] for t in transcript.turns] == ["b", "c"]
    assert transcript.cut and transcript.chars == 80


def test_a_long_turn_is_shortened_and_marked():
    transcript = build_transcript(_turns("x" * 100), max_chars=1000, max_turn_chars=30)
    assert transcript.turns[0].content == "x" * (30 - len(CUT_MARK)) + CUT_MARK
    assert len(transcript.turns[0].content) == 30 and transcript.cut


def test_credentials_are_removed_before_counting():
    transcript = build_transcript(
        _turns("key sk-proj-AbCdEf0123456789XyZ"), max_chars=100, max_turn_chars=100
    )
    assert transcript.turns[0].content == "key [removed]"


def test_a_newest_turn_over_the_whole_budget_leaves_nothing():
    transcript = build_transcript(_turns("x" * 50), max_chars=10, max_turn_chars=50)
    assert transcript.turns == [] and transcript.cut and transcript.received == 1


def test_times_are_shown_in_utc_to_the_minute():
    oslo = timezone(timedelta(hours=1))
    turn = Turn("user", "hi", datetime(2026, 11, 20, 9, 30, 59, tzinfo=oslo))
    assert turn.as_data() == {"role": "user", "time": "2026-11-20 08:30 UTC", "content": "hi"}
    assert "time" not in Turn("user", "hi").as_data()
    assert Turn("user", "hi", datetime(2026, 1, 1, tzinfo=UTC)).as_data()["time"] == "2026-01-01 00:00 UTC"
