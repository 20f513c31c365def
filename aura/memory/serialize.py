"""Plain-dict forms of memories and exports, shared by the JSON API and the admin download."""

from __future__ import annotations

import json

from aura.memory.export import EXPORT_FORMAT, MemoryExport
from aura.memory.schemas import ExportSchema
from aura.memory.types import Memory

_export_schema = ExportSchema()


def memory_body(memory: Memory | None) -> dict | None:
    if memory is None:
        return None
    return {
        "content": memory.content,
        "version": memory.version,
        "created_at": memory.created_at,
        "updated_at": memory.updated_at,
    }


def export_document(export: MemoryExport) -> tuple[dict, str]:
    """(the export as a JSON-ready dict, its download file name)."""
    document = {
        "status": "ok",
        "format": EXPORT_FORMAT,
        "user_id": export.user_id,
        "exported_at": export.exported_at,
        "memory": memory_body(export.memory),
        "settings": {"enabled": export.settings.enabled, "consolidation": export.settings.consolidation},
        "revisions": [row._asdict() for row in export.revisions],
        "conversations": [row._asdict() for row in export.conversations],
        "proposal": export.proposal,
    }
    return document, f"aura-memory-{export.user_id}.json"


def export_file(export: MemoryExport) -> tuple[str, str]:
    """(the export as JSON text, its file name), for downloads served outside flask-smorest."""
    document, filename = export_document(export)
    return json.dumps(_export_schema.dump(document), ensure_ascii=False, indent=2), filename
