"""GET / DELETE /api/v1/memory/<user_id>/conversations: the recorded chat turns."""

from __future__ import annotations

from flask.views import MethodView

from aura.auth.tokens import authorize_user
from aura.conversations.schemas import ConversationPageSchema, ConversationsDeletedSchema
from aura.conversations.service import delete_turns, list_turns
from aura.memory.types import Actor
from aura.schemas import PageArgsSchema, UserIdPathSchema
from aura.web.api_common import api_blueprint, authorize_write, documented_errors

blp = api_blueprint(
    "conversations",
    __name__,
    url_prefix="/api/v1/memory",
    description="Recorded chat turns (AURA_CONVERSATION_RECORDING), what consolidation learns from",
)


@blp.route("/<user_id>/conversations")
class Conversations(MethodView):
    @blp.arguments(UserIdPathSchema, location="path", as_kwargs=True)
    @blp.arguments(PageArgsSchema, location="query", as_kwargs=True)
    @blp.response(200, ConversationPageSchema)
    @documented_errors(blp, 403)
    def get(self, user_id: int, page: int, per_page: int):
        """The user's recorded chat turns, newest first (credentials already removed)."""
        authorize_user(user_id)
        result = list_turns(user_id, page=page, per_page=per_page)
        return {
            "status": "ok",
            "turns": result.items,
            "pagination": {
                "page": result.page,
                "per_page": result.per_page,
                "total": result.total,
                "pages": result.pages,
            },
        }

    @blp.arguments(UserIdPathSchema, location="path", as_kwargs=True)
    @blp.response(200, ConversationsDeletedSchema)
    @documented_errors(blp, 403)
    def delete(self, user_id: int):
        """Delete the user's recorded turns; the memory and its history stay (idempotent, audited)."""
        principal = authorize_write(user_id)
        deleted = delete_turns(user_id, Actor(label=principal.name))
        message = f"Deleted {deleted:,} recorded turn(s)" if deleted else "No recorded turns to delete"
        return {"status": "ok", "message": message, "deleted": deleted}
