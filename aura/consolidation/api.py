"""POST /api/v1/memory/<user_id>/consolidate: AURA merges a conversation into the memory itself."""

from __future__ import annotations

from flask import current_app
from flask.views import MethodView

from aura.api_common import api_blueprint, authorize_write, documented_errors, model_error_response
from aura.chat.llm import LLMError
from aura.consolidation.schemas import ConsolidateSchema, ConsolidationResultSchema
from aura.consolidation.service import Consolidation, ConsolidationRequest, consolidate
from aura.memory.api import handle_memory_errors
from aura.memory.preconditions import etag, expected_version
from aura.memory.serialize import memory_body
from aura.memory.service import Actor
from aura.schemas import IfMatchHeaderSchema, UserIdPathSchema

blp = api_blueprint(
    "consolidation",
    __name__,
    url_prefix="/api/v1/memory",
    description="AURA writes the memory itself: merges a conversation into it through the model",
)
handle_memory_errors(blp)


@blp.errorhandler(LLMError)
def _model_failed(error: LLMError):
    current_app.logger.warning("consolidation failed (%d): %s", error.status, error.message)
    return model_error_response(error)


def _answer(result: Consolidation):
    body = {
        "status": "ok",
        "turns_used": len(result.transcript.turns),
        "transcript_cut": result.transcript.cut,
    }
    if result.preview:
        proposed = None if result.proposed is None else {"content": result.proposed}
        return {**body, "preview": True, "proposed": proposed, "based_on_version": result.based_on_version}
    message = "Memory consolidated" if result.changed else "Nothing new to remember; the memory is unchanged"
    answer = {**body, "message": message, "changed": result.changed, "memory": memory_body(result.memory)}
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
