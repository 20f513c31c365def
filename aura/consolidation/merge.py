"""The model's part of a consolidation: current memory + transcript in, new memory out, or nothing.

No database here: the endpoint, the background job and `flask memory eval-consolidation`
all run exactly this. The principle: a model's bad answer may fail to add a fact, but it
never removes or corrupts one.

- The model is asked for edits to the memory's numbered lines (aura.consolidation.edits), as
  JSON (response_format); AURA applies the valid ones, so lines nobody edited stay byte for
  byte. An answer in any other form is taken as a whole new memory.
- Every result passes the retention check (aura.consolidation.facts): a result that loses a
  fact the user did not ask to forget or replace is only ever a proposal (``dropped``).
- Refusals, meta-text and chatter are recognised (aura.consolidation.answers); an answer cut
  off at max_tokens is never stored. Such an answer is *declined*: the model answered, AURA
  kept the memory as it was.
- The request fits the model's context (aura.consolidation.budget).

An empty answer, or one still too long after one condensing request, is a BadAnswer (502).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from flask import Flask, current_app

from aura.consolidation import budget
from aura.consolidation.answers import not_a_fact, read_answer, unfenced
from aura.consolidation.ask import ask_within_context
from aura.consolidation.credentials import remove_credentials
from aura.consolidation.edits import apply_edits, parse_edits
from aura.consolidation.facts import Fact, Vocabulary, fact_of, grounded, kept_in
from aura.consolidation.prompt import NOTHING_TO_REMEMBER, PromptTemplates, condense_messages
from aura.consolidation.proposals import forget_phrases
from aura.consolidation.retention import check_retention, forgotten_facts
from aura.consolidation.transcript import Transcript
from aura.llm.client import Completion, LLMClient
from aura.llm.errors import LLMError
from aura.llm.settings import llm_settings

_CLIENT_KEY = "aura_consolidation_llm"
_PROMPTS_KEY = "aura_consolidation_prompts"


class BadAnswer(LLMError):
    """The model answered, but nothing storable: empty, or too long even after condensing."""

    code = "model_bad_answer"
    outcome = "bad_answer"


@dataclass(frozen=True)
class Merged:
    """The new memory text (None: it stays as it is) and how the answer came to it."""

    content: str | None
    model: str
    usage: dict[str, int] = field(default_factory=dict)
    calls: int = 1
    condensed: bool = False
    declined: str | None = None  # the model answered, AURA kept the memory: refusal, meta_text, ...
    dropped: tuple[str, ...] = ()  # facts ``content`` loses without the user's word: a proposal only
    answer_format: str = "text"  # "edits" (structured) or "text" (a whole new memory)
    refused_edits: tuple[dict, ...] = ()
    stripped_lines: int = 0
    transcript: Transcript | None = None  # the turns the model saw (the context may cut the oldest)

    def details(self) -> dict:
        """What the revision or proposal keeps about this answer."""
        facts = {"answer_format": self.answer_format}
        if self.refused_edits:
            facts["refused_edits"] = list(self.refused_edits)
        if self.stripped_lines:
            facts["stripped_lines"] = self.stripped_lines
        if self.dropped:
            facts["dropped_facts"] = list(self.dropped)
        return facts


def init_consolidation(app: Flask) -> None:
    """The consolidation model's client (the chat model's server unless set) and its prompt."""
    cfg = app.config
    own_model = bool(cfg["AURA_CONSOLIDATION_BASE_URL"] or cfg["AURA_CONSOLIDATION_MODEL"])
    settings = llm_settings(
        cfg,
        base_url=cfg["AURA_CONSOLIDATION_BASE_URL"] or cfg["AURA_LLM_BASE_URL"],
        context_tokens=cfg["AURA_CONSOLIDATION_CONTEXT_TOKENS"]
        or (0 if own_model else cfg["AURA_LLM_CONTEXT_TOKENS"]),
        model=cfg["AURA_CONSOLIDATION_MODEL"] or cfg["AURA_LLM_MODEL"],
        api_key=cfg["AURA_CONSOLIDATION_API_KEY"]
        or (cfg["AURA_LLM_API_KEY"] if not cfg["AURA_CONSOLIDATION_BASE_URL"] else ""),
        timeout=cfg["AURA_CONSOLIDATION_TIMEOUT"],
        max_connections=100,  # one request per consolidation, and consolidations are rate-limited
    )
    prompts = PromptTemplates.configured(cfg["AURA_CONSOLIDATION_PROMPT_FILE"])
    prompts.check()
    app.extensions[_CLIENT_KEY] = LLMClient(settings)
    app.extensions[_PROMPTS_KEY] = prompts


def consolidation_client() -> LLMClient:
    return current_app.extensions[_CLIENT_KEY]


def consolidation_prompts() -> PromptTemplates:
    return current_app.extensions[_PROMPTS_KEY]


def request_options(raw_temperature: str) -> dict:
    return {"temperature": float(raw_temperature)} if raw_temperature.strip() else {}


def memory_limit(current: str | None, target_chars: int, max_memory_chars: int) -> int:
    """The length the new memory must fit: the target, or a longer current memory's own length,
    never over the longest memory AURA stores."""
    return min(max(target_chars, len(current or "")), max_memory_chars)


def clean_answer(reply: str) -> str:
    """The memory text in a model's reply: no surrounding code fence, no credentials, trimmed."""
    return remove_credentials(unfenced(reply)).strip()


def _add_usage(total: dict[str, int], completion: Completion) -> None:
    for name, value in (completion.usage or {}).items():
        if isinstance(value, int) and not isinstance(value, bool):
            total[name] = total.get(name, 0) + value


def _text(completion: Completion) -> str:
    text = clean_answer(completion.reply)
    if not text:
        raise BadAnswer(
            "The model answered with an empty memory; nothing was stored. "
            "(To forget everything, erase the memory with DELETE.)"
        )
    return text


def _user_turns(transcript: Transcript) -> list[str]:
    return [turn.content for turn in transcript.turns if turn.role == "user"]


def _says_again(line: str, forgotten: Sequence[Fact]) -> bool:
    words = Vocabulary([line])
    return any(kept_in(fact, words) for fact in forgotten)


def _grounded_lines(
    text: str, current: str | None, user_turns: Sequence[str], forgotten: Sequence[Fact]
) -> tuple[str, int]:
    """The rewrite without lines that neither keep a fact of the memory nor rest on the user's
    words, and without new lines in the model's own voice or saying again what the user asked
    to forget (a line of the memory stays as it is)."""
    memory = Vocabulary([current or ""])
    old_lines = {line.strip() for line in (current or "").splitlines()}
    kept, dropped = [], 0
    for line in text.splitlines():
        fact = fact_of(line)
        new_line = line.strip() not in old_lines
        refused = new_line and (not_a_fact(line) or _says_again(line, forgotten))
        if not line.strip() or (
            fact.keys and not refused and (kept_in(fact, memory) or grounded(line, user_turns, current))
        ):
            kept.append(line)
        else:
            dropped += 1
    return "\n".join(kept).strip(), dropped


def _from_edits(reply_edits, current, user_turns, limit, completion, usage) -> Merged:
    applied = apply_edits(
        current, reply_edits, user_turns, limit, forgotten_facts(current, user_turns, forget_phrases())
    )
    refused = tuple(applied.refused)
    if not applied.applied:
        declined = "edits_refused" if refused else None
        return Merged(
            None, completion.model, usage, declined=declined, answer_format="edits", refused_edits=refused
        )
    # The same check as a rewrite's, over the whole memory: a citation shows the user said
    # *something*, not that it replaces this line ("I got a new bike" cited to overwrite every
    # line with "Got a new bike" passed citation checks and lost five facts).
    retained = check_retention(current, applied.text, user_turns, forget_phrases())
    return Merged(
        applied.text,
        completion.model,
        usage,
        answer_format="edits",
        refused_edits=refused,
        dropped=tuple(fact.text for fact in retained.dropped),
    )


def merge(
    client: LLMClient,
    prompts: PromptTemplates,
    current: str | None,
    transcript: Transcript,
    *,
    today: date,
    limit: int,
    deadline: float,
    options: dict | None = None,
) -> Merged:
    """Ask the model for the new memory; apply edits or read a rewrite; check what it keeps.

    Raises LLMError (unreachable, timeout, error status) or BadAnswer; every call ends by
    ``deadline`` (time.monotonic()). A declined answer is a Merged with ``declined`` set.
    """
    # A credential the memory already holds (saved over the API) is neither sent to the model nor
    # kept by the result: the filter applies to consolidation's input and output alike.
    current = remove_credentials(current) if current else current
    usage: dict[str, int] = {}
    completion, seen = ask_within_context(
        client, prompts, current, transcript, today, limit, deadline, options or {}
    )
    _add_usage(usage, completion)
    common = {"usage": usage, "transcript": seen}
    if completion.finish_reason == "length":
        return Merged(None, completion.model, declined="cut_off", **common)
    user_turns = _user_turns(seen)
    edits = parse_edits(completion.reply) if prompts.structured else None
    if edits is not None:
        merged = _from_edits(edits, current, user_turns, limit, completion, usage)
        return Merged(**{**merged.__dict__, "transcript": seen})
    text = _text(completion)
    if prompts.structured and text.lstrip().startswith("{"):
        # Asked for JSON, it began some and broke it: not a memory either.
        return Merged(None, completion.model, declined="unreadable_edits", **common)
    if text == NOTHING_TO_REMEMBER:
        return Merged(None, completion.model, **common)
    reading = read_answer(text)
    if reading.declined:
        return Merged(
            None, completion.model, declined=reading.declined, stripped_lines=reading.stripped, **common
        )
    forgotten = forgotten_facts(current, user_turns, forget_phrases())
    text, ungrounded = _grounded_lines(reading.text, current, user_turns, forgotten)
    if not text:
        return Merged(
            None,
            completion.model,
            declined="not_grounded",
            stripped_lines=reading.stripped + ungrounded,
            **common,
        )
    calls = 1
    if len(text) > limit:
        condensed = client.complete(
            condense_messages(text, limit),
            deadline,
            {**(options or {}), "max_tokens": budget.answer_tokens(limit)},
        )
        _add_usage(usage, condensed)
        calls = 2
        shorter = read_answer(_text(condensed))
        if condensed.finish_reason == "length" or shorter.declined:
            declined = "cut_off" if condensed.finish_reason == "length" else shorter.declined
            return Merged(None, completion.model, calls=calls, declined=declined, **common)
        text = shorter.text
        if len(text) > limit:
            raise BadAnswer(
                f"The model's memory was {len(text):,} characters even after condensing, over the "
                f"{limit:,} allowed; nothing was stored."
            )
    retained = check_retention(current, text, user_turns, forget_phrases())
    return Merged(
        text,
        completion.model,
        calls=calls,
        condensed=calls == 2,
        stripped_lines=reading.stripped + ungrounded,
        dropped=tuple(fact.text for fact in retained.dropped),
        **common,
    )
