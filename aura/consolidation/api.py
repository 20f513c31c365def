"""POST /api/v1/memory/<user_id>/consolidate: AURA merges a conversation into the memory itself."""

from __future__ import annotations

from flask import current_app
from flask.views import MethodView

from aura.auth.tokens import authorize_user
from aura.consolidation.proposals import (
    NoProposal,
    ProposalReplaced,
    ProposalStale,
    accept_proposal,
    get_proposal,
    reject_proposal,
)
from aura.consolidation.schemas import (
    ConsolidateSchema,
    ConsolidationResultSchema,
    ProposalConflictSchema,
    ProposalDecisionSchema,
    ProposalEnvelopeSchema,
    ProposalRejectedSchema,
)
from aura.consolidation.service import Consolidation, ConsolidationRequest, consolidate
from aura.llm.errors import LLMError
from aura.memory.api import handle_memory_errors, written_response
from aura.memory.preconditions import etag, expected_version
from aura.memory.schemas import MemorySavedSchema
from aura.memory.serialize import memory_body
from aura.memory.types import Actor
from aura.schemas import IfMatchHeaderSchema, UserIdPathSchema
from aura.web.api_common import api_blueprint, authorize_write, documented_errors, model_error_response
from aura.web.errors import error_response

blp = api_blueprint(
    "consolidation",
    __name__,
    url_prefix="/api/v1/memory",
    description="AURA writes the memory itself: merges a conversation into it through the model",
)
handle_memory_errors(blp)


@blp.errorhandler(NoProposal)
def _no_proposal(_error: NoProposal):
    return error_response(404, "This user has no pending proposal.", code="no_proposal")


@blp.errorhandler(ProposalReplaced)
def _replaced(error: ProposalReplaced):
    pending = error.pending
    return error_response(
        409,
        "That proposal is no longer the pending one: a newer consolidation replaced it, or it was "
        "decided already. Read GET .../proposal and decide on that one.",
        {"proposal_id": ["Not the pending proposal."]},
        code="proposal_replaced",
        extra={"pending_proposal_id": pending.id if pending else None},
    )


@blp.errorhandler(ProposalStale)
def _stale(error: ProposalStale):
    return error_response(
        409,
        f"The memory changed since this proposal was made from version {error.proposal.based_on_version} "
        f"(it is at version {error.current_version} now): consolidate again.",
        {"proposal": ["Made from an older memory."]},
        code="proposal_stale",
        extra={"current_version": error.current_version},
    )


@blp.errorhandler(LLMError)
def _model_failed(error: LLMError):
    current_app.logger.warning("consolidation failed (answered %d): %s", error.status, error.log_line())
    return model_error_response(error)


HELD_MESSAGES = {
    "review": "Held for review: the memory is unchanged until the proposal is accepted",
    "shrink": "Held for review: the result would drop much of the memory and nobody asked to forget",
    "dropped_facts": "Held for review: the result would lose facts nobody asked to forget or replace "
    "(the proposal's details list them)",
}
DECLINED_MESSAGES = {
    "refusal": "it refused",
    "meta_text": "it talked about the memory instead of writing one",
    "not_grounded": "nothing in it rests on the memory or on what the user said",
    "cut_off": "it was cut off at the length limit",
    "edits_refused": "none of its edits was justified by the user's own words",
    "unreadable_edits": "it began the JSON edits and broke them",
}


def _answer(result: Consolidation):
    body = {
        "status": "ok",
        "turns_used": len(result.transcript.turns),
        "transcript_cut": result.transcript.cut,
    }
    if result.preview:
        proposed = None if result.proposed is None else {"content": result.proposed}
        preview = {**body, "preview": True, "proposed": proposed, "based_on_version": result.based_on_version}
        return {**preview, **({"declined": result.declined} if result.declined else {})}
    if result.changed:
        message = "Memory consolidated"
    elif result.proposal is not None:
        message = HELD_MESSAGES[result.held_for_review]
    elif result.declined:
        message = (
            f"The model's answer was declined ({DECLINED_MESSAGES[result.declined]}); the memory is unchanged"
        )
    else:
        message = "Nothing new to remember; the memory is unchanged"
    answer = {**body, "message": message, "changed": result.changed, "memory": memory_body(result.memory)}
    if result.proposal is not None:
        answer.update(proposal=result.proposal, held_for_review=result.held_for_review)
    if result.declined:
        answer["declined"] = result.declined
    headers = {"ETag": etag(result.memory.version)} if result.memory else {}
    return answer, 200, headers


@blp.route("/<user_id>/consolidate")
class Consolidate(MethodView):
    @blp.arguments(ConsolidateSchema)
    @blp.arguments(UserIdPathSchema, location="path", as_kwargs=True)
    @blp.arguments(IfMatchHeaderSchema, location="headers", as_kwargs=True)
    @blp.response(200, ConsolidationResultSchema)
    @documented_errors(
        blp,
        400,
        403,
        409,
        412,
        413,
        415,
        422,
        descriptions={
            429: "Too many consolidations for this user (AURA_RATE_LIMIT_CONSOLIDATE), see Retry-After",
            503: "No model is configured, the model is rate-limiting, or the database is unavailable",
        },
    )
    @blp.alt_response(
        502, description="The model failed, is unreachable, or answered nothing usable", schema="Error"
    )
    @blp.alt_response(
        504, description="The model did not answer within AURA_CONSOLIDATION_TIMEOUT", schema="Error"
    )
    def post(self, body: dict, user_id: int, if_match: str | None = None):
        """Merge a conversation into the user's memory through the model (or preview the result).

        The model keeps every existing fact unless the user contradicts it or asks to forget it,
        takes facts only from the user's turns, and stores no credentials. The save is
        conditional on the version read: a write that lands meanwhile is merged again, once
        (412 if that also loses the race). With `If-Match` / `expected_version` the request is
        never re-merged: 412 as soon as the memory moves. Nothing is stored on any error.
        """
        principal = authorize_write(user_id, scope="consolidate")
        request = ConsolidationRequest(
            messages=body["messages"],
            conversation_id=body["conversation_id"],
            preview=body["preview"],
            expected_version=expected_version(user_id, body, if_match),
        )
        return _answer(consolidate(user_id, request, Actor(label=principal.name)))


@blp.route("/<user_id>/proposal")
class PendingProposal(MethodView):
    @blp.arguments(UserIdPathSchema, location="path", as_kwargs=True)
    @blp.response(200, ProposalEnvelopeSchema)
    @documented_errors(blp, 403)
    def get(self, user_id: int):
        """The consolidation waiting for review, or "proposal": null."""
        authorize_user(user_id)
        return {"status": "ok", "proposal": get_proposal(user_id)}


@blp.route("/<user_id>/proposal/accept", methods=["POST"])
@blp.arguments(ProposalDecisionSchema, required=False)
@blp.arguments(UserIdPathSchema, location="path", as_kwargs=True)
@blp.arguments(IfMatchHeaderSchema, location="headers", as_kwargs=True)
@blp.response(200, MemorySavedSchema)
@documented_errors(
    blp,
    400,
    403,
    404,
    409,
    412,
    413,
    415,
    descriptions={
        404: "No pending proposal",
        409: "proposal_replaced (proposal_id is not the pending one), proposal_stale (made from an older "
        "memory: consolidate again), or memory_disabled",
    },
    schemas={409: ProposalConflictSchema},
)
def accept(body: dict, user_id: int, if_match: str | None = None):
    """Make the pending proposal the memory (a consolidation revision); honours If-Match."""
    principal = authorize_write(user_id)
    memory = accept_proposal(
        user_id,
        Actor(label=principal.name),
        proposal_id=body.get("proposal_id"),
        expected_version=expected_version(user_id, body, if_match),
    )
    return written_response("Proposal accepted", memory)


@blp.route("/<user_id>/proposal/reject", methods=["POST"])
@blp.arguments(ProposalDecisionSchema, required=False)
@blp.arguments(UserIdPathSchema, location="path", as_kwargs=True)
@blp.response(200, ProposalRejectedSchema)
@documented_errors(
    blp,
    400,
    403,
    404,
    409,
    413,
    415,
    descriptions={404: "No pending proposal", 409: "proposal_replaced"},
    schemas={409: ProposalConflictSchema},
)
def reject(body: dict, user_id: int):
    """Drop the pending proposal; the memory stays as it is."""
    principal = authorize_write(user_id)
    dropped = reject_proposal(user_id, Actor(label=principal.name), proposal_id=body.get("proposal_id"))
    return {"status": "ok", "message": "Proposal rejected", "proposal": dropped}
