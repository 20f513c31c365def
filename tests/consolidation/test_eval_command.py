"""`flask memory eval-consolidation`: scores any OpenAI-compatible model on the scenario cases."""

from __future__ import annotations

from aura.consolidation.cases import CASES
from tests.consolidation.scripted_edits import edits_reply
from tests.fake_llm import Answer


def _run(runner, fake_llm, *extra: str):
    return runner.invoke(
        args=["memory", "eval-consolidation", "--base-url", fake_llm.url, "--model", "candidate", *extra]
    )


def test_a_model_answering_like_the_cases_expect_scores_all_but_a_change_no_word_shows(runner, fake_llm):
    """Every case but one: "Favourite food: steak." updated to "Vegetarian since October." shares
    no word with it, so AURA's check cannot tell a replacement from a lost fact and holds it for
    review, in either answer format. The floor a perfect model reaches is 22 of 23."""
    fake_llm.script(*[Answer(reply=edits_reply(case.name)) for case in CASES])
    result = _run(runner, fake_llm, "--fail-under", "95")
    assert result.exit_code == 0, result.output
    assert f"{len(CASES) - 1}/{len(CASES)} cases passed (96%) with candidate" in result.output
    assert "fact retention:     18/18 (100%)" in result.output
    assert "new facts captured: 10/11 (90%)" in result.output
    assert "forgets honoured:   2/2 (100%)" in result.output
    assert "answers rejected:   1/23 (4%)" in result.output
    assert "FAIL  preference_updated" in result.output
    assert "answer rejected, memory kept: held: drops Favourite food: steak." in result.output
    assert result.output.count("PASS ") == len(CASES) - 1
    assert {r.body["model"] for r in fake_llm.received} == {"candidate"}
    assert len(fake_llm.received) == len(CASES)  # the same prompt as production: system + data message
    assert all([m["role"] for m in r.body["messages"]] == ["system", "user"] for r in fake_llm.received)


def test_a_model_that_obeys_the_conversation_fails_and_says_why(runner, fake_llm):
    """AURA keeps the memory (the answer would lose "Likes hiking."), and the model still fails."""
    fake_llm.default = Answer(reply="HACKED")
    result = _run(runner, fake_llm, "--case", "prompt_injection_ignored", "--fail-under", "50")
    assert result.exit_code == 1
    assert "FAIL  prompt_injection_ignored" in result.output
    assert "answer rejected, memory kept: held: drops Likes hiking." in result.output
    assert "answers rejected:   1/1 (100%)" in result.output
    assert "0/1 cases passed (0%)" in result.output
    assert "context window: unknown (unknown)" in result.output  # the scripted server reports none


def test_the_context_the_server_reports_is_used_and_said(runner, fake_llm):
    fake_llm.props = {"default_generation_settings": {"n_ctx": 2048}}
    fake_llm.default = Answer(reply=edits_reply("prompt_injection_ignored"))
    result = _run(runner, fake_llm, "--case", "prompt_injection_ignored")
    assert "context window: 2048 tokens (reported)" in result.output, result.output
    request = fake_llm.received[0].body
    assert sum(len(m["content"]) for m in request["messages"]) / 3 + request["max_tokens"] <= 2048


def test_a_model_that_drops_facts_is_scored_on_what_auto_mode_would_keep(runner, fake_llm):
    fake_llm.default = Answer(reply="Started learning Spanish.")
    result = _run(runner, fake_llm, "--case", "existing_facts_kept")
    assert "answer rejected, memory kept: held: drops Name: Priya.; Vegetarian." in result.output
    assert "fact retention:     5/5 (100%)" in result.output  # held, so nothing was lost
    assert "new facts captured: 0/1 (0%)" in result.output


def test_a_failing_model_call_is_a_failed_case_not_a_crash(runner, fake_llm):
    fake_llm.default = Answer(status=400)
    result = _run(runner, fake_llm, "--case", "new_fact_added", "--case", "name_corrected")
    assert result.exit_code == 0
    assert result.output.count("model call failed: The language model answered with HTTP 400") == 2


def test_an_unknown_case_is_a_usage_error(runner, fake_llm):
    result = _run(runner, fake_llm, "--case", "nope")
    assert result.exit_code == 2 and "no such case: nope" in result.output
