"""JSON endpoints for memories; the shapes the frontend's saveMemory/getMemory rely on."""

from __future__ import annotations

from flask import current_app, request
from flask.views import MethodView
from flask_smorest import abort

from aura.auth.tokens import authorize_user
from aura.memory import service
from aura.memory.export import export_memory
from aura.memory.preconditions import etag, expected_version, precondition_failed
from aura.memory.schemas import (
    ExportSchema,
    MemoryDeletedSchema,
    MemoryEnvelopeSchema,
    MemoryRestoredSchema,
    MemorySavedSchema,
    MemorySaveSchema,
    RestoreSchema,
    RevisionPageSchema,
    SettingsEnvelopeSchema,
    SettingsSchema,
)
from aura.memory.serialize import export_document, memory_body
from aura.memory.settings import get_settings, update_settings
from aura.schemas import IfMatchHeaderSchema, PageArgsSchema, RevisionPathSchema, UserIdPathSchema
from aura.web.api_common import api_blueprint, authorize_write, documented_errors
from aura.web.errors import error_response

blp = api_blueprint("memory", __name__, url_prefix="/api/v1/memory", description="Per-user memory store")


def memory_disabled(_error: service.MemoryDisabled):
    return error_response(
        409,
        "Memory is switched off for this user, so nothing was stored. "
        'Switch it back on with PUT /api/v1/memory/<user_id>/settings {"enabled": true}.',
        {"enabled": ["Memory is off for this user."]},
        code="memory_disabled",
    )


def handle_memory_errors(blueprint) -> None:
    """A stale version is 412 and a switched-off memory 409, on every blueprint that writes memories."""
    blueprint.errorhandler(service.VersionConflict)(precondition_failed)
    blueprint.errorhandler(service.MemoryDisabled)(memory_disabled)


handle_memory_errors(blp)


def written_response(message: str, memory: service.Memory):
    """A write's answer: the memory as stored, and its ETag for the next conditional write."""
    return (
        {"status": "ok", "message": message, "memory": memory_body(memory)},
        200,
        {"ETag": etag(memory.version)},
    )


@blp.route("")
class MemoryCollection(MethodView):
    @blp.arguments(MemorySaveSchema)
    @blp.arguments(IfMatchHeaderSchema, location="headers", as_kwargs=True)
    @blp.response(200, MemorySavedSchema)
    @documented_errors(blp, 400, 403, 409, 412, 413, 415)
    def post(self, body: dict, if_match: str | None = None):
        """Create or replace a user's memory (one per user; regenerating replaces it).

        Last write wins, unless the request sends `If-Match` (or `expected_version`): then the
        save happens only if the memory is still at that version, else 412.
        """
        principal = authorize_write(body["user_id"])
        memory = service.save_memory(
            body["user_id"],
            body["content"],
            actor=service.Actor(label=principal.name),
            expected_version=expected_version(body["user_id"], body, if_match),
        )
        return written_response("Memory saved successfully", memory)


@blp.route("/<user_id>")
class MemoryItem(MethodView):
    @blp.arguments(UserIdPathSchema, location="path", as_kwargs=True)
    @blp.response(200, MemoryEnvelopeSchema)
    @documented_errors(blp, 403)
    def get(self, user_id: int):
        """The user's current memory, or "memory": null if there is none (ETag: its version)."""
        authorize_user(user_id)
        memory = service.get_memory(user_id)
        body = {"status": "ok", "memory": memory_body(memory)}
        return body if memory is None else (body, 200, {"ETag": etag(memory.version)})

    @blp.arguments(UserIdPathSchema, location="path", as_kwargs=True)
    @blp.response(200, MemoryDeletedSchema)
    @documented_errors(blp, 403)
    def delete(self, user_id: int):
        """Erase the user's memory and all its revisions (idempotent; final even against racing saves)."""
        principal = authorize_write(user_id)
        deleted = service.delete_memory(user_id, actor=service.Actor(label=principal.name))
        message = "Memory deleted" if deleted else "No memory to delete"
        return {"status": "ok", "message": message, "deleted": deleted}


@blp.route("/<user_id>/settings")
class MemorySettings(MethodView):
    @blp.arguments(UserIdPathSchema, location="path", as_kwargs=True)
    @blp.response(200, SettingsEnvelopeSchema)
    @documented_errors(blp, 403)
    def get(self, user_id: int):
        """Whether memory is on for this user (on unless switched off), and how consolidations change it."""
        authorize_user(user_id)
        return {"status": "ok", "settings": get_settings(user_id)}

    @blp.arguments(SettingsSchema)
    @blp.arguments(UserIdPathSchema, location="path", as_kwargs=True)
    @blp.response(200, SettingsEnvelopeSchema)
    @documented_errors(blp, 400, 403, 413, 415)
    def put(self, body: dict, user_id: int):
        """Replace the settings. Off: chat never uses the memory and saves get 409; nothing is deleted.

        `consolidation` picks review or automatic consolidation for this user; a user token may
        change it only where the deployment lets users choose (AURA_CONSOLIDATION_USER_MAY_CHOOSE).
        """
        principal = authorize_write(user_id)
        if not request.get_data(cache=True):
            abort(
                422,
                message='Send the settings as a JSON object, e.g. {"enabled": true}.',
                messages={"json": ["Missing request body."]},
            )
        users_choose = current_app.config["AURA_CONSOLIDATION_USER_MAY_CHOOSE"]
        changes_mode = body["consolidation"] != get_settings(user_id).consolidation
        if principal.kind != "service" and not users_choose and changes_mode:
            abort(
                403,
                message="This deployment does not let users choose how consolidations change their memory.",
                messages={"json": {"consolidation": ["Set by the deployment."]}},
            )
        settings = update_settings(
            user_id, service.Actor(label=principal.name), body["enabled"], body["consolidation"]
        )
        return {"status": "ok", "settings": settings}


@blp.route("/<user_id>/export")
class MemoryExport(MethodView):
    @blp.arguments(UserIdPathSchema, location="path", as_kwargs=True)
    @blp.response(200, ExportSchema)
    @documented_errors(blp, 403)
    def get(self, user_id: int):
        """Everything kept about the user's memory, as a JSON file: memory, settings, every revision."""
        authorize_user(user_id)
        document, filename = export_document(export_memory(user_id))
        return document, 200, {"Content-Disposition": f'attachment; filename="{filename}"'}


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


@blp.route("/<user_id>/revisions/<revision_id>/restore")
class RevisionRestore(MethodView):
    @blp.arguments(RestoreSchema, required=False)
    @blp.arguments(RevisionPathSchema, location="path", as_kwargs=True)
    @blp.arguments(IfMatchHeaderSchema, location="headers", as_kwargs=True)
    @blp.response(200, MemoryRestoredSchema)
    @documented_errors(blp, 400, 403, 404, 409, 412, 413, 415)
    def post(self, body: dict, user_id: int, revision_id: int, if_match: str | None = None):
        """Make an earlier revision current again (recorded as a new "restore" revision).

        For "undo the last regeneration": restore the second-newest revision. Honours If-Match
        and the memory switch like a save; a revision of another user is 404.
        """
        principal = authorize_write(user_id)
        try:
            memory = service.restore_revision(
                user_id,
                revision_id,
                service.Actor(label=principal.name),
                expected_version=expected_version(user_id, body, if_match),
            )
        except service.RevisionNotFound:
            abort(404, message=f"User {user_id} has no revision {revision_id}.")
        return written_response("Revision restored", memory)
