"""`flask memory eval-consolidation`: score a model on AURA's consolidation cases before using it."""

from __future__ import annotations

import sys

import click
from flask import current_app

from aura.consolidation.cases import CASES
from aura.consolidation.evaluate import Budgets, Scores, run_cases
from aura.consolidation.merge import consolidation_prompts, request_options
from aura.llm.client import LLMClient
from aura.llm.settings import llm_settings


@click.command("eval-consolidation")
@click.option("--base-url", required=True, help="OpenAI-compatible server, e.g. http://127.0.0.1:11434/v1")
@click.option("--model", required=True, help="Model name as the server knows it.")
@click.option("--api-key", envvar="AURA_EVAL_API_KEY", default="", help="Or set AURA_EVAL_API_KEY.")
@click.option(
    "--context-tokens", type=click.IntRange(0), default=0, help="The model's context window (0: learn it)."
)
@click.option("--case", "only", multiple=True, help="Run only these cases (repeatable).")
@click.option("--show-memory", is_flag=True, help="Print each memory the model wrote.")
@click.option("--fail-under", type=click.IntRange(0, 100), default=0, help="Exit 1 below this % passed.")
def eval_consolidation(
    base_url: str,
    model: str,
    api_key: str,
    context_tokens: int,
    only: tuple[str, ...],
    show_memory: bool,
    fail_under: int,
) -> None:
    """Score a model on AURA's consolidation cases (facts kept, added, replaced, forgotten; none
    of the forbidden ones stored). Uses the deployment's prompt, budgets and timeout; no database."""
    cfg = current_app.config
    unknown = set(only) - {case.name for case in CASES}
    if unknown:
        raise click.UsageError(f"no such case: {', '.join(sorted(unknown))}")
    cases = [case for case in CASES if not only or case.name in only]
    client = LLMClient(
        llm_settings(
            cfg,
            base_url=base_url,
            model=model,
            api_key=api_key,
            timeout=cfg["AURA_CONSOLIDATION_TIMEOUT"],
            context_tokens=context_tokens,
        )
    )
    budgets = Budgets(
        max_input_chars=cfg["AURA_CONSOLIDATION_MAX_INPUT_CHARS"],
        max_turn_chars=cfg["AURA_CONSOLIDATION_MAX_TURN_CHARS"],
        target_chars=cfg["AURA_MEMORY_TARGET_CHARS"],
        max_memory_chars=cfg["AURA_MAX_MEMORY_CHARS"],
        timeout=cfg["AURA_CONSOLIDATION_TIMEOUT"],
    )
    passed = 0
    scores = Scores()
    options = request_options(cfg["AURA_CONSOLIDATION_TEMPERATURE"])
    try:
        for result in run_cases(client, consolidation_prompts(), cases, budgets, options):
            passed += result.passed
            scores.add(result)
            mark = "PASS" if result.passed else "FAIL"
            click.echo(f"{mark}  {result.case.name:<30} {result.seconds:5.1f} s  {result.case.about}")
            if result.error:
                click.echo(f"      model call failed: {result.error}")
            elif result.rejected:
                click.echo(f"      answer rejected, memory kept: {result.rejected}")
            elif not result.passed:
                if result.verdict.missing:
                    click.echo(f"      missing:   {', '.join(result.verdict.missing)}")
                if result.verdict.forbidden:
                    click.echo(f"      forbidden: {', '.join(result.verdict.forbidden)}")
            if show_memory or (not result.passed and not result.error):
                for line in (result.memory or "(no memory)").splitlines():
                    click.echo(f"      | {line}")
    finally:
        client.close()
    score = round(100 * passed / len(cases))
    for line in scores.lines():
        click.echo(line)
    known = f"{client.context_tokens} tokens" if client.context_tokens else "unknown"
    click.echo(f"context window: {known} ({client.context_source or 'not asked'})")
    click.echo(f"{passed}/{len(cases)} cases passed ({score}%) with {model} at {base_url}")
    if score < fail_under:
        sys.exit(1)
