"""Finding a user and reading their page: the list, the user's memory with everything around it
(revisions, audit, background upkeep, webhooks, the pending proposal, the prompt preview), diffs."""

from __future__ import annotations

from flask import abort, current_app, flash, render_template, request
from marshmallow import ValidationError

from aura.admin.common import checked_ids, checked_user_id
from aura.admin.diff import word_diff
from aura.admin.forms import ConsolidateNowForm, MemoryForm, MemorySwitchForm, ProposalDecisionForm
from aura.admin.queries import SORTS, search_users
from aura.admin.schemas import UserListArgsSchema
from aura.chat.prompt import build_messages
from aura.consolidation.proposals import get_proposal
from aura.jobs.status import consolidation_status
from aura.memory import service
from aura.memory.settings import get_settings
from aura.memory.types import RevisionNotFound, VersionConflict
from aura.webhooks.config import webhooks_configured
from aura.webhooks.outbox import recent_deliveries

user_list_args = UserListArgsSchema()
NEXT_MESSAGE_PLACEHOLDER = "(the user's next message)"


def users():
    try:
        args = user_list_args.load(request.args)
    except ValidationError:
        flash("Some search options were invalid and have been reset.", "warning")
        args = user_list_args.load({})
    result = search_users(args["q"], args["sort"], args["page"])
    return render_template("admin/users.html", result=result, args=args, sorts=SORTS)


def render_user(
    user_id: int,
    memory_form: MemoryForm | None = None,
    status: int = 200,
    conflict: VersionConflict | None = None,
):
    memory = service.get_memory(user_id)
    version = memory.version if memory else 0
    if memory_form is None:
        memory_form = MemoryForm(content=memory.content if memory else "", version=version)
    page = min(max(request.args.get("page", 1, type=int), 1), 1_000_000)  # a page, not an error
    revisions = service.list_revisions(user_id, page=page, per_page=20)
    settings = get_settings(user_id)
    preview = build_messages(
        system_prompt=current_app.config["AURA_SYSTEM_PROMPT"],
        memory_content=memory.content if memory and settings.enabled else None,
        history=[],
        message=NEXT_MESSAGE_PLACEHOLDER,
        max_chars=current_app.config["AURA_CHAT_MAX_PROMPT_CHARS"],
        framing=current_app.config["AURA_MEMORY_FRAMING"],
    )
    proposal = get_proposal(user_id)
    html = render_template(
        "admin/user.html",
        user_id=user_id,
        memory=memory,
        version=version,
        settings=settings,
        switch_form=MemorySwitchForm(enabled="off" if settings.enabled else "on"),
        form=memory_form,
        conflict=conflict,
        revisions=revisions,
        audit=service.list_audit_events(user_id),
        upkeep=consolidation_status(user_id),
        deliveries=recent_deliveries(user_id) if webhooks_configured() else None,
        proposal=proposal,
        proposal_segments=word_diff(memory.content if memory else "", proposal.content) if proposal else None,
        proposal_form=ProposalDecisionForm(proposal_id=proposal.id, version=version) if proposal else None,
        consolidate_form=ConsolidateNowForm(),
        preview=preview,
        max_chars=current_app.config["AURA_MAX_MEMORY_CHARS"],
    )
    return html, status


def user(user_id: int):
    """A user's page; an id AURA has never seen is a 404 that offers to start one (?create=1)."""
    user_id = checked_user_id(user_id)
    if not service.user_known(user_id) and request.args.get("create") != "1":
        return render_template("admin/unknown_user.html", user_id=user_id), 404
    return render_user(user_id)


def revision_diff(user_id: int, revision_id: int):
    """What a revision changed compared with the one before it (word by word)."""
    user_id, revision_id = checked_ids(user_id, revision_id)
    try:
        revision, previous = service.revision_with_previous(user_id, revision_id)
    except RevisionNotFound:
        abort(404)
    segments = word_diff(previous.content if previous else "", revision.content)
    return render_template(
        "admin/diff.html", user_id=user_id, revision=revision, previous=previous, segments=segments
    )
