"""The consolidation prompt: versioned template files, rendered with the memory and transcript as data.

The instructions (``system-v2.txt``, or the operator's AURA_CONSOLIDATION_PROMPT_FILE) go in the
system message. The current memory and the transcript go in a separate user message, each value
JSON-encoded between markers; the encoding escapes ``<`` and ``>``, so nothing in a conversation
can close a marker and pose as instructions.

v2 (the default) shows the memory as numbered lines and asks for JSON edits to them
(aura.consolidation.edits); an operator's own file, written for v1, asks for the whole memory
as text and gets v1's data message. Either answer passes the same checks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path

from jinja2 import FileSystemLoader, StrictUndefined, Template
from jinja2.sandbox import SandboxedEnvironment

from aura.chat.prompt import ChatMessage
from aura.consolidation.edits import numbered_lines
from aura.consolidation.transcript import Transcript

PROMPTS_DIR = Path(__file__).resolve().parent.parent / "prompts" / "consolidation"
PROMPT_VERSION = "consolidation-v2"
# The model's whole answer when there is no memory and nothing worth starting one.
NOTHING_TO_REMEMBER = "NOTHING_TO_REMEMBER"


def _environment(directory: Path) -> SandboxedEnvironment:
    """Sandboxed: an operator's template may only fill in text, never reach into Python."""
    env = SandboxedEnvironment(
        loader=FileSystemLoader(str(directory)), undefined=StrictUndefined, keep_trailing_newline=False
    )
    # tojson still escapes < > & ' (the markers' safety); non-ASCII text stays readable.
    env.policies["json.dumps_kwargs"] = {"sort_keys": False, "ensure_ascii": False}
    return env


@cache
def _template(directory: str, name: str) -> Template:
    return _environment(Path(directory)).get_template(name)


@dataclass(frozen=True)
class PromptTemplates:
    """Where the instructions come from; ``version`` is recorded with every consolidation."""

    instructions_file: Path
    version: str
    structured: bool = True  # asks for JSON edits (v2) rather than the whole memory as text (v1)

    @classmethod
    def configured(cls, custom_file: str) -> PromptTemplates:
        if not custom_file:
            return cls(PROMPTS_DIR / "system-v2.txt", PROMPT_VERSION)
        path = Path(custom_file).resolve()
        if not path.is_file():
            raise RuntimeError(f"AURA_CONSOLIDATION_PROMPT_FILE={custom_file!r} is not a readable file")
        return cls(path, f"custom:{path.name}", structured=False)

    def check(self) -> None:
        """Render once at start-up, so a broken custom template stops the app, not every request."""
        self.messages(None, Transcript.empty(), today=date(2026, 1, 1), target_chars=100)

    def messages(
        self, memory: str | None, transcript: Transcript, today: date, target_chars: int
    ) -> list[ChatMessage]:
        instructions = _template(str(self.instructions_file.parent), self.instructions_file.name).render(
            today=today.isoformat(), target_chars=target_chars, nothing_marker=NOTHING_TO_REMEMBER
        )
        turns = [turn.as_data() for turn in transcript.turns]
        if self.structured:
            data = _template(str(PROMPTS_DIR), "data-v2.txt").render(
                lines=numbered_lines(memory), turns=turns
            )
        else:
            data = _template(str(PROMPTS_DIR), "data-v1.txt").render(memory=memory, turns=turns)
        return [{"role": "system", "content": instructions}, {"role": "user", "content": data}]


def condense_messages(memory: str, target_chars: int) -> list[ChatMessage]:
    """The one follow-up request when an answer is longer than the memory may be."""
    request = _template(str(PROMPTS_DIR), "condense-v1.txt").render(
        memory=memory, length=len(memory), target_chars=target_chars
    )
    return [{"role": "user", "content": request}]
