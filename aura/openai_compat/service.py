"""OpenAI's protocol on top of AURA's one chat service: whose memory a request carries, which models
it may name, the request the model server gets, and the turn that gets recorded.

Nothing here talks to the model or the database itself: the memory comes from
aura.chat.service, the call goes through the app's one LLM client, and recording goes through
the same function as AURA's own chat.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app, request
from werkzeug.exceptions import BadRequest, NotFound

from aura.auth.tokens import USER_HEADER, current_principal
from aura.chat.prompt import insert_memory
from aura.chat.service import memory_for_chat
from aura.openai_compat.schemas import MEMORY_SWITCH
from aura.schemas import USER_ID_STRING
from aura.web.api_common import authorize_chat
from aura.web.errors import with_code

MODELS_KEY = "aura_openai_models"
MEMORY_HEADER = "X-Aura-Memory"  # "off": a temporary chat, for clients that cannot send metadata
# Fields that are AURA's business, not the model server's: `user` holds AURA's user id (not for
# a provider's abuse monitoring), and `metadata` carries AURA's switches (OpenAI refuses
# metadata unless `store` is set).
# Read by AURA, never forwarded: who the user is, and AURA's own metadata.
_AURA_FIELDS = ("user", "safety_identifier", "metadata")
# OpenAI's documented request fields: forwarded (with AURA_OPENAI_EXTRA_PARAMS). Anything else,
# e.g. LiteLLM's api_base / api_key / custom_llm_provider that would steer a proxy in front of
# the model, is dropped and the request served.
OPENAI_FIELDS = frozenset(
    """model messages audio frequency_penalty function_call functions logit_bias logprobs
    max_completion_tokens max_tokens modalities n parallel_tool_calls prediction presence_penalty
    prompt_cache_key reasoning_effort response_format seed service_tier stop store stream
    stream_options temperature tool_choice tools top_logprobs top_p verbosity
    web_search_options""".split()  # noqa: SIM905 - a word list reads better as words
)


@dataclass(frozen=True)
class PreparedCompletion:
    user_id: int
    body: dict[str, Any]  # what the model server gets
    memory_used: bool
    use_memory: bool  # false: a temporary chat, never recorded
    conversation_id: str | None


def load_models(app: Flask) -> None:
    """AURA_LLM_MODEL first, then AURA_OPENAI_MODELS, each once: read at start-up, not per request."""
    cfg = app.config
    names = [cfg["AURA_LLM_MODEL"], *(n.strip() for n in cfg["AURA_OPENAI_MODELS"].split(","))]
    app.extensions[MODELS_KEY] = tuple(dict.fromkeys(name for name in names if name))


def configured_models() -> tuple[str, ...]:
    return current_app.extensions[MODELS_KEY]


def named_user(body: Mapping[str, Any]) -> str | None:
    """The user id the request names: ``user``, else the X-Aura-User header a gateway sets, else
    ``safety_identifier`` when it is all digits (OpenAI's successor to ``user``; the hashed id
    OpenAI recommends there names nobody AURA knows and is ignored). Two that disagree are a 400."""
    header = request.headers.get(USER_HEADER, "").strip() or None
    named = [value for value in (body.get("user"), header) if value is not None]
    if len(set(named)) > 1:
        raise _bad_user(
            f"`user` ({body.get('user')}) and the {USER_HEADER} header ({header}) name different users."
        )
    if named:
        return named[0]
    safety = body.get("safety_identifier")
    return safety if isinstance(safety, str) and USER_ID_STRING.fullmatch(safety) else None


def acting_user(user: str | None) -> int:
    """The user whose memory this request carries, authorized and counted against their chat limit.

    A user token acts for its own user (``user`` may repeat its id; another id is 403). A service
    token acts for the user the request names (named_user), so it must name one.
    """
    principal = current_principal()
    if user is None:
        if principal.user_id is None:
            raise _bad_user(
                'With a service token, name the AURA user in `user` (their numeric id, e.g. "42"), '
                f"or have your gateway send it in the {USER_HEADER} header."
            )
        user_id = principal.user_id
    elif USER_ID_STRING.fullmatch(user):  # at most 18 digits: within MAX_USER_ID by its shape
        user_id = int(user)
    else:
        raise _bad_user('`user` must be the numeric AURA user id, e.g. "42".')
    authorize_chat(user_id)
    return user_id


def _bad_field(field: str, message: str, code: str, summary: str | None = None) -> BadRequest:
    """A 400 naming ``field`` (OpenAI's ``param``), as the schema's own refusals are."""
    error = BadRequest(summary or message)
    error.data = {"message": summary or message, "messages": {"json": {field: [message]}}}
    return with_code(error, code)


def _bad_user(message: str) -> BadRequest:
    return _bad_field("user", message, "user_required")


def check_model(model: str) -> None:
    """404 model_not_found, as OpenAI answers, for a model this deployment does not serve."""
    if model not in configured_models():
        raise with_code(
            NotFound(f"The model `{model}` does not exist here; GET /v1/models lists the ones that do."),
            "model_not_found",
        )


def memory_requested(metadata: Mapping[str, str] | None) -> bool:
    """False for a temporary chat: metadata.aura_memory or the X-Aura-Memory header says "off"."""
    switches = ((metadata or {}).get(MEMORY_SWITCH, ""), request.headers.get(MEMORY_HEADER, ""))
    return not any(switch.strip().lower() in ("off", "false", "0", "no") for switch in switches)


def _extra_params() -> frozenset[str]:
    return frozenset(
        p.strip() for p in current_app.config["AURA_OPENAI_EXTRA_PARAMS"].split(",") if p.strip()
    )


def check_costs(body: Mapping[str, Any]) -> None:
    """The operator's caps on what one request may cost: choices (n) and tokens per choice."""
    caps = {
        "n": current_app.config["AURA_OPENAI_MAX_N"],
        "max_tokens": current_app.config["AURA_OPENAI_MAX_TOKENS"],
        "max_completion_tokens": current_app.config["AURA_OPENAI_MAX_TOKENS"],
    }
    for field, cap in caps.items():
        value = body.get(field)
        if isinstance(value, int) and not isinstance(value, bool) and value > cap:
            message = f"At most {cap:,} on this deployment."
            raise _bad_field(field, message, "over_limit", summary=f"`{field}`: {message}")


def prepare_completion(body: dict[str, Any]) -> PreparedCompletion:
    """Authorize, read the memory (unless switched off) and build the model server's request."""
    check_model(body["model"])
    check_costs(body)
    user_id = acting_user(named_user(body))
    metadata = body.get("metadata") or {}
    use_memory = memory_requested(metadata)
    memory = memory_for_chat(user_id, use_memory)
    messages = insert_memory(body["messages"], memory, current_app.config["AURA_MEMORY_FRAMING"])
    forwarded = OPENAI_FIELDS | _extra_params()
    upstream = {key: value for key, value in body.items() if key in forwarded and key not in _AURA_FIELDS}
    upstream["messages"] = messages
    if body.get("store") and metadata:
        upstream["metadata"] = {k: v for k, v in metadata.items() if k != MEMORY_SWITCH}
    return PreparedCompletion(
        user_id=user_id,
        body=upstream,
        memory_used=len(messages) > len(body["messages"]),
        use_memory=use_memory,
        conversation_id=metadata.get("conversation_id") or None,
    )


def text_of(content: Any) -> str:
    """A message's text: the string itself, or its text parts joined (images and audio left out)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            part["text"]
            for part in content
            if part.get("type") == "text" and isinstance(part.get("text"), str)
        )
    return ""


def turn_to_record(messages: Sequence[dict], reply: str | None) -> tuple[str, str] | None:
    """(the newest user message, the final reply) for consolidation; None when there is no
    finished exchange to learn from (no reply text, e.g. only tool calls, or no user text)."""
    if not reply or not reply.strip():
        return None
    for message in reversed(messages):
        if message.get("role") == "user":
            text = text_of(message.get("content"))
            return (text, reply) if text.strip() else None
    return None


def reply_text(completion: Mapping[str, Any]) -> str | None:
    """The first choice's text, if the model answered in text (None for tool calls or odd shapes)."""
    choices = completion.get("choices") or ()
    message = choices[0].get("message") if choices and isinstance(choices[0], dict) else None
    content = message.get("content") if isinstance(message, dict) else None
    return content if isinstance(content, str) else None
