"""What the OpenAI parser, responder and LLM judge share: the key, the SDK client over a shared
HTTP client, one structured-output chat completion, and failures as :class:`UpstreamError`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar, Self, TypeVar, cast

from pydantic import BaseModel, ValidationError

from ..errors import UpstreamError
from ..http import limiter_for
from ..records import Availability
from ..redaction import scrub
from ..registry import ProviderContext, api_key
from ..settings import Settings

if TYPE_CHECKING:  # pragma: no cover
    import httpx
    from openai import AsyncOpenAI
    from openai.types.chat import ChatCompletionMessageParam, ParsedChatCompletion

    from ..prompts import Prompt

__all__ = [
    "UPSTREAM",
    "OpenAIProvider",
    "ask_structured",
    "chat_parse",
    "make_openai_client",
    "openai_availability",
    "openai_client",
    "openai_failure",
    "openai_key",
    "parsed_output",
]

OutputT = TypeVar("OutputT", bound=BaseModel)
UPSTREAM = "openai"
MAX_RETRIES = 0


def openai_key(settings: Settings) -> str | None:
    return api_key(settings.openai_api_key)


def openai_availability(settings: Settings, what: str) -> Availability:
    if openai_key(settings) is None:
        return Availability(False, "OPENAI_API_KEY not set")
    return Availability(True, f"OPENAI_API_KEY set; {what} with {settings.openai_model}")


def openai_client(settings: Settings, http: httpx.AsyncClient, *, max_retries: int) -> AsyncOpenAI:
    """An ``AsyncOpenAI`` over ``http`` (never an HTTP client of its own)."""
    import openai

    key = openai_key(settings)
    if key is None:
        raise UpstreamError("auth", f"{UPSTREAM}: OPENAI_API_KEY not set")
    return openai.AsyncOpenAI(
        api_key=key,
        base_url=settings.openai_base_url,
        # The SDK accepts the classic httpx.AsyncClient; its annotation names its own fork.
        http_client=cast(Any, http),
        max_retries=max_retries,
        timeout=settings.http_timeout_s,
    )


def make_openai_client(ctx: ProviderContext) -> AsyncOpenAI:
    """A provider's ``AsyncOpenAI`` over the shared ``ctx.http``, without SDK retries."""
    return openai_client(ctx.settings, ctx.http, max_retries=MAX_RETRIES)


def openai_failure(exc: BaseException, settings: Settings, what: str) -> UpstreamError:
    """Any exception from an OpenAI call as a one-line, secret-free :class:`UpstreamError`."""
    import openai

    secrets = settings.secret_values()
    if isinstance(exc, UpstreamError):
        return UpstreamError(exc.error_class, scrub(str(exc), secrets))
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        error_class = (
            "auth" if status in (401, 403) else "rate_limited" if status == 429 else "http_error"
        )
        detail = _error_message(exc.body) or exc.message
        return UpstreamError(
            error_class, scrub(f"{UPSTREAM} {what}: HTTP {status}: {detail}", secrets)[:300]
        )
    if isinstance(exc, openai.APITimeoutError | TimeoutError):
        return UpstreamError(
            "timeout", f"{UPSTREAM} {what}: no answer within {settings.http_timeout_s:g}s"
        )
    if isinstance(exc, openai.APIConnectionError):
        cause = exc.__cause__
        if isinstance(cause, UpstreamError):  # e.g. a replay miss raised by the transport
            return UpstreamError(cause.error_class, scrub(str(cause), secrets))
        why = type(cause).__name__ if cause is not None else "connection error"
        return UpstreamError("http_error", f"{UPSTREAM} {what}: connection failed ({why})")
    if isinstance(exc, openai.LengthFinishReasonError):
        return UpstreamError("bad_payload", f"{UPSTREAM} {what}: output cut off at the length cap")
    if isinstance(exc, openai.ContentFilterFinishReasonError):
        return UpstreamError("bad_payload", f"{UPSTREAM} {what}: output stopped by content filter")
    if isinstance(exc, ValidationError | ValueError):
        # pydantic (schema mismatch) and json (invalid JSON) both land here.
        first = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else str(exc)
        return UpstreamError(
            "bad_payload",
            scrub(f"{UPSTREAM} {what}: output does not match the schema ({first})", secrets)[:300],
        )
    return UpstreamError(
        "error", scrub(f"{UPSTREAM} {what}: {type(exc).__name__}: {exc}", secrets)[:300]
    )


def _error_message(body: object) -> str:
    """OpenAI's error body is ``{"error": {"message": ...}}`` (the SDK may pass the inner part)."""
    if isinstance(body, str):
        return body
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict) and isinstance(err.get("message"), str):
            return str(err["message"])
        if isinstance(err, str):
            return err
    return ""


async def chat_parse(
    client: AsyncOpenAI,
    *,
    model: str,
    messages: Iterable[ChatCompletionMessageParam],
    output: type[OutputT],
    timeout_s: float,
) -> ParsedChatCompletion[OutputT]:
    """One chat completion at temperature 0 with ``output`` as the structured output."""
    async with asyncio.timeout(timeout_s + 1.0):
        return await client.chat.completions.parse(
            model=model, temperature=0, messages=messages, response_format=output
        )


def parsed_output(completion: ParsedChatCompletion[OutputT]) -> OutputT:
    """The first choice's parsed output; :class:`ValueError` when it is missing or refused."""
    if not completion.choices:
        raise ValueError("no choices in the completion")
    message = completion.choices[0].message
    if message.refusal:
        raise ValueError(f"the model refused ({message.refusal[:120]})")
    if message.parsed is None:
        raise ValueError("empty structured output")
    return message.parsed


async def ask_structured(
    client: AsyncOpenAI,
    settings: Settings,
    what: str,
    messages: Iterable[ChatCompletionMessageParam],
    output: type[OutputT],
) -> OutputT:
    """A pipeline stage's call: rate-limited, the settings' model, and every completion that
    has no usable output raised as a ``bad_payload`` :class:`UpstreamError`."""
    await limiter_for(UPSTREAM).acquire()
    try:
        completion = await chat_parse(
            client,
            model=settings.openai_model,
            messages=messages,
            output=output,
            timeout_s=settings.http_timeout_s,
        )
    except (AttributeError, TypeError):
        # The SDK trips over a body that is not a completion (an HTML error page).
        raise UpstreamError(
            "bad_payload", f"{UPSTREAM} {what}: the answer is not a chat completion"
        ) from None
    try:
        return parsed_output(completion)
    except ValueError as exc:
        raise UpstreamError("bad_payload", f"{UPSTREAM} {what}: {exc}") from None


class OpenAIProvider:
    """What the OpenAI parser and responder share: a versioned prompt, availability from the
    key, creation from the provider context, and the SDK client built on first use."""

    name = "openai"
    prompt_name: ClassVar[str]
    """The prompt file (``underfoot_lab/prompts/<name>``) a subclass asks with."""
    purpose: ClassVar[str]
    """What the model does, for ``doctor`` ("parses queries")."""

    def __init__(self, ctx: ProviderContext, prompt: Prompt | None = None) -> None:
        from ..prompts import load_prompt

        self.ctx = ctx
        self.prompt = prompt or load_prompt(self.prompt_name)

    @classmethod
    def availability(cls, settings: Settings) -> Availability:
        return openai_availability(settings, cls.purpose)

    @classmethod
    def create(cls, ctx: ProviderContext) -> Self:
        return cls(ctx)

    @cached_property
    def client(self) -> AsyncOpenAI:
        return make_openai_client(self.ctx)
