"""Score a real model on the consolidation cases: `flask memory eval-consolidation`.

Runs each case of aura.consolidation.cases through exactly the production path (the same
prompt, budgets, credential filter and length rules, aura.consolidation.merge) against any
OpenAI-compatible server, and checks the answer with the case's expected and forbidden facts.
Nothing is read from or written to the database.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from aura.consolidation.cases import Case, Verdict, check
from aura.consolidation.merge import memory_limit, merge
from aura.consolidation.prompt import PromptTemplates
from aura.consolidation.transcript import build_transcript
from aura.llm.client import LLMClient
from aura.llm.errors import LLMError
from aura.models import utcnow


@dataclass(frozen=True)
class Budgets:
    max_input_chars: int
    max_turn_chars: int
    target_chars: int
    max_memory_chars: int
    timeout: float


@dataclass(frozen=True)
class CaseResult:
    case: Case
    verdict: Verdict | None  # None: the model call failed
    memory: str | None
    seconds: float
    error: str | None = None

    @property
    def passed(self) -> bool:
        return self.verdict is not None and self.verdict.passed


def run_cases(
    client: LLMClient,
    prompts: PromptTemplates,
    cases: Iterable[Case],
    budgets: Budgets,
    options: dict | None = None,
) -> Iterator[CaseResult]:
    """Each case's result as soon as it is known (a failed call is a failed case, not a crash)."""
    for case in cases:
        started = time.monotonic()
        transcript = build_transcript(case.messages, budgets.max_input_chars, budgets.max_turn_chars)
        try:
            merged = merge(
                client,
                prompts,
                case.memory,
                transcript,
                today=utcnow().date(),
                limit=memory_limit(case.memory, budgets.target_chars, budgets.max_memory_chars),
                deadline=started + budgets.timeout,
                options=options,
            )
        except LLMError as error:
            yield CaseResult(case, None, None, time.monotonic() - started, error.message)
            continue
        # "Nothing to remember" keeps the current memory, as the endpoint does.
        memory = merged.content if merged.content is not None else case.memory
        yield CaseResult(case, check(case, memory), memory, time.monotonic() - started)
