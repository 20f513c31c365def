"""JSON endpoints for memories; the shapes the frontend's saveMemory/getMemory rely on."""

from __future__ import annotations

from flask.views import MethodView

from aura.api_common import api_blueprint, documented_errors, write_limit
from aura.auth import authorize_user
from aura.memory import service
from aura.schemas import (
    MemoryDeletedSchema,
    MemoryEnvelopeSchema,
    MemorySavedSchema,
    MemorySaveSchema,
    PageArgsSchema,
    RevisionPageSchema,
    UserIdPathSchema,
)

blp = api_blueprint("memory", __name__, url_prefix="/api/v1/memory", description="Per-user memory store")


def _memory_body(memory: service.Memory | None) -> dict | None:
    if memory is None:
        return None
    return {"content": memory.content, "created_at": memory.created_at, "updated_at": memory.updated_at}


@blp.route("")
class MemoryCollection(MethodView):
    @write_limit
    @blp.arguments(MemorySaveSchema)
    @blp.response(200, MemorySavedSchema)
    @documented_errors(blp, 400, 403, 413, 429)
    def post(self, body: dict):
        """Create or replace a user's memory (one per user; regenerating replaces it)."""
        principal = authorize_user(body["user_id"])
        actor = service.Actor(label=principal.name)
        memory = service.save_memory(body["user_id"], body["content"], actor=actor)
        return {"status": "ok", "message": "Memory saved successfully", "memory": _memory_body(memory)}


@blp.route("/<user_id>")
class MemoryItem(MethodView):
    @blp.arguments(UserIdPathSchema, location="path", as_kwargs=True)
    @blp.response(200, MemoryEnvelopeSchema)
    @documented_errors(blp, 403)
    def get(self, user_id: int):
        """The user's current memory, or `"memory": null` if there is none."""
        authorize_user(user_id)
        return {"status": "ok", "memory": _memory_body(service.get_memory(user_id))}

    @write_limit
    @blp.arguments(UserIdPathSchema, location="path", as_kwargs=True)
    @blp.response(200, MemoryDeletedSchema)
    @documented_errors(blp, 403, 429)
    def delete(self, user_id: int):
        """Erase the user's memory and all its revisions (idempotent)."""
        principal = authorize_user(user_id)
        deleted = service.delete_memory(user_id, actor=service.Actor(label=principal.name))
        message = "Memory deleted" if deleted else "No memory to delete"
        return {"status": "ok", "message": message, "deleted": deleted}


@blp.route("/<user_id>/revisions")
class MemoryRevisions(MethodView):
    @blp.arguments(UserIdPathSchema, location="path", as_kwargs=True)
    @blp.arguments(PageArgsSchema, location="query", as_kwargs=True)
    @blp.response(200, RevisionPageSchema)
    @documented_errors(blp, 403)
    def get(self, user_id: int, page: int, per_page: int):
        """Every text the memory has held, newest first."""
        authorize_user(user_id)
        result = service.list_revisions(user_id, page=page, per_page=per_page)
        return {
            "status": "ok",
            "revisions": result.items,
            "pagination": {
                "page": result.page,
                "per_page": result.per_page,
                "total": result.total,
                "pages": result.pages,
            },
        }
