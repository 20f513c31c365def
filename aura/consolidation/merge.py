"""The model's part of a consolidation: current memory + transcript in, new memory text out.

No database here: the endpoint, the background job and `flask memory eval-consolidation`
all run exactly this. Every answer is cleaned (fences, credentials) and must fit the length
limit; one follow-up request condenses a long answer, and anything unusable is a BadAnswer
(502): nothing is stored on a failure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from flask import Flask, current_app

from aura.consolidation.credentials import remove_credentials
from aura.consolidation.prompt import NOTHING_TO_REMEMBER, PromptTemplates, condense_messages
from aura.consolidation.transcript import Transcript
from aura.llm.client import Completion, LLMClient
from aura.llm.errors import LLMError
from aura.llm.settings import llm_settings

_CLIENT_KEY = "aura_consolidation_llm"
_PROMPTS_KEY = "aura_consolidation_prompts"
_FENCED = re.compile(r"\A```[\w-]*\n(?P<body>.*?)\n?```\Z", re.DOTALL)


class BadAnswer(LLMError):
    """The model answered, but nothing storable: empty, or too long even after condensing."""

    code = "model_bad_answer"
    outcome = "bad_answer"


@dataclass(frozen=True)
class Merged:
    """The new memory text (None: the model found nothing worth remembering) and what it cost."""

    content: str | None
    model: str
    usage: dict[str, int] = field(default_factory=dict)
    calls: int = 1
    condensed: bool = False


def init_consolidation(app: Flask) -> None:
    """The consolidation model's client (the chat model's server unless set) and its prompt."""
    cfg = app.config
    settings = llm_settings(
        cfg,
        base_url=cfg["AURA_CONSOLIDATION_BASE_URL"] or cfg["AURA_LLM_BASE_URL"],
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
    text = reply.strip()
    fenced = _FENCED.match(text)
    if fenced:
        text = fenced.group("body").strip()
    return remove_credentials(text).strip()


def _add_usage(total: dict[str, int], completion: Completion) -> None:
    for name, value in (completion.usage or {}).items():
        if isinstance(value, int) and not isinstance(value, bool):
            total[name] = total.get(name, 0) + value


def _answer(completion: Completion) -> str:
    text = clean_answer(completion.reply)
    if not text:
        raise BadAnswer(
            "The model answered with an empty memory; nothing was stored. "
            "(To forget everything, erase the memory with DELETE.)"
        )
    return text


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
    """Ask the model for the new memory; condense once if it is longer than ``limit``.

    Raises LLMError (unreachable, timeout, error status) or BadAnswer; every call ends by
    ``deadline`` (time.monotonic()).
    """
    usage: dict[str, int] = {}
    completion = client.complete(prompts.messages(current, transcript, today, limit), deadline, options)
    _add_usage(usage, completion)
    text = _answer(completion)
    if text == NOTHING_TO_REMEMBER:
        return Merged(None, completion.model, usage)
    if len(text) <= limit:
        return Merged(text, completion.model, usage)
    condensed = client.complete(condense_messages(text, limit), deadline, options)
    _add_usage(usage, condensed)
    shorter = _answer(condensed)
    if len(shorter) > limit:
        raise BadAnswer(
            f"The model's memory was {len(shorter):,} characters even after condensing, over the "
            f"{limit:,} allowed; nothing was stored."
        )
    return Merged(shorter, completion.model, usage, calls=2, condensed=True)
