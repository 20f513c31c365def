"""Score a real model on the consolidation cases: `flask memory eval-consolidation`.

Runs each case of aura.consolidation.cases through exactly the production path (the same
prompt, budgets, credential filter, length rules and answer checks, aura.consolidation.merge)
against any OpenAI-compatible server, and checks what AURA would then store (in auto mode: a
declined or held answer leaves the memory as it was) with the case's expected and forbidden
facts. A case whose answer AURA rejected fails even when the old memory happens to pass: the
model did not do the job. Nothing is read from or written to the database.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from aura.consolidation.cases import Case, Verdict, check
from aura.consolidation.facts import Vocabulary, facts_of, kept_in
from aura.consolidation.merge import Merged, memory_limit, merge
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
    memory: str | None  # what AURA would store
    seconds: float
    error: str | None = None
    rejected: str | None = None  # why AURA declined or held the answer

    @property
    def passed(self) -> bool:
        return self.verdict is not None and self.verdict.passed and self.rejected is None


def _stored(case: Case, merged: Merged) -> tuple[str | None, str | None]:
    """(what auto mode would store, why the answer was rejected)."""
    if merged.declined:
        return case.memory, f"declined: {merged.declined}"
    if merged.dropped:
        return case.memory, f"held: drops {'; '.join(merged.dropped)}"
    return (merged.content if merged.content is not None else case.memory), None


@dataclass
class Scores:
    """The numbers a deployment's model must beat (docs/performance.md has the floor)."""

    facts_kept: int = 0
    facts_total: int = 0
    new_found: int = 0
    new_total: int = 0
    forgets_honoured: int = 0
    forgets_total: int = 0
    rejected: int = 0
    answered: int = 0

    def add(self, result: CaseResult) -> None:
        case, stored = result.case, Vocabulary([result.memory or ""])
        self.answered += result.error is None
        self.rejected += result.rejected is not None
        forgotten = [text.casefold() for text in case.absent]
        for fact in facts_of(case.memory):
            if any(gone in fact.text.casefold() for gone in forgotten):
                continue  # a fact the case expects to go (forgotten or replaced)
            self.facts_total += 1
            self.facts_kept += kept_in(fact, stored)
        old = (case.memory or "").casefold()
        new = [fact for fact in case.present if not any(alt.casefold() in old for alt in fact.split("|"))]
        self.new_total += len(new)
        self.new_found += sum(
            any(a.casefold() in (result.memory or "").casefold() for a in f.split("|")) for f in new
        )
        if "forget" in case.name:
            self.forgets_total += 1
            self.forgets_honoured += result.verdict is not None and not result.verdict.forbidden

    def lines(self) -> list[str]:
        def share(part: int, whole: int) -> str:
            return f"{part}/{whole} ({100 * part // whole}%)" if whole else "0/0 (none to count)"

        return [
            f"fact retention:     {share(self.facts_kept, self.facts_total)} of the facts that should stay",
            f"new facts captured: {share(self.new_found, self.new_total)}",
            f"forgets honoured:   {share(self.forgets_honoured, self.forgets_total)}",
            f"answers rejected:   {share(self.rejected, self.answered)} (declined or held by AURA's checks)",
        ]


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
        memory, rejected = _stored(case, merged)
        yield CaseResult(case, check(case, memory), memory, time.monotonic() - started, rejected=rejected)
