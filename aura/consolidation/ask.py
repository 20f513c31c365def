"""How a consolidation asks the model: within its context, for at most what the answer needs, in the
strongest structured form the server accepts (learned once per server, like stream_options)."""

from __future__ import annotations

import re
from datetime import date

from flask import current_app

from aura.consolidation import budget
from aura.consolidation.edits import EDITS_SCHEMA
from aura.consolidation.prompt import PromptTemplates
from aura.consolidation.transcript import Transcript
from aura.llm import context
from aura.llm.client import Completion, LLMClient
from aura.llm.errors import LLMContextExceeded, LLMError

_FORMATS = ("json_schema", "json_object", "none")
_FORMAT_REFUSED = re.compile(r"response_format|json_schema|json_object|structured", re.IGNORECASE)


def _response_format(kind: str) -> dict:
    if kind == "json_schema":
        return {
            "type": "json_schema",
            "json_schema": {"name": "memory_edits", "schema": EDITS_SCHEMA, "strict": True},
        }
    if kind == "json_object":
        # llama-cpp-python turns the schema into a grammar; others read the type alone.
        return {"type": "json_object", "schema": EDITS_SCHEMA}
    return {}


def _ask(client: LLMClient, messages: list, deadline: float, options: dict, structured: bool) -> Completion:
    """One answer; a server that refuses response_format is asked in the next weaker form (and
    remembered), as a protocol negotiation: the model's answer itself is never asked for twice."""
    while True:
        kind = client.structured_output if structured else "none"
        fmt = _response_format(kind)
        try:
            return client.complete(
                messages, deadline, {**options, **({"response_format": fmt} if fmt else {})}
            )
        except LLMContextExceeded:
            raise
        except LLMError as error:
            # llama-cpp-python answers an unknown response_format type with a 500 naming it.
            refused = error.upstream_status in (400, 422, 500) and _FORMAT_REFUSED.search(error.message)
            if not fmt or not refused:
                raise
            client.structured_output = _FORMATS[_FORMATS.index(kind) + 1]
            current_app.logger.warning(
                "model server refused response_format %s; trying %s", kind, client.structured_output
            )


def ask_within_context(
    client: LLMClient,
    prompts: PromptTemplates,
    current: str | None,
    transcript: Transcript,
    today: date,
    limit: int,
    deadline: float,
    options: dict,
) -> tuple[Completion, Transcript]:
    """The model's answer and the turns it saw: asked within the model's context (as configured,
    else as the server reports it; a "too long"
    refusal is retried once, fitted to the limit the server states) for at most the tokens the
    memory's length limit needs."""
    ratio = budget.CHARS_PER_TOKEN
    context.discover(client)
    for attempt in (1, 2):
        fitted = budget.fit(prompts, current, transcript, today, limit, client.context_tokens, ratio)
        messages = prompts.messages(current, fitted.transcript, today, limit)
        try:
            completion = _ask(
                client, messages, deadline, {**options, "max_tokens": fitted.max_tokens}, prompts.structured
            )
            return completion, fitted.transcript
        except LLMContextExceeded as error:
            if attempt == 2:
                raise
            client.context_tokens, client.context_source = error.context_tokens, "stated"
            ratio = budget.learned_ratio(sum(len(m["content"]) for m in messages), error.prompt_tokens)
            current_app.logger.warning(
                "consolidation prompt over the model's %d-token context; fitting it", error.context_tokens
            )
    raise AssertionError("unreachable")
