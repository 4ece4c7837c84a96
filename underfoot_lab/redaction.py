"""Keeping secrets out of everything the lab shows or stores: one home for every redaction.

Every place that writes text a person or a file may see goes through here: error messages
(:func:`scrub`), recordings (:func:`scrub_url`, :func:`scrub_headers`, :func:`scrub_bytes`),
log records (:func:`install_log_redaction`), MLflow params, tags and artifacts
(:func:`redact`, :func:`scrub_file`) and sweep logs. The rules:

* every configured secret value (and its URL-encoded forms) becomes ``***``, longest first so
  a secret containing another is masked whole (:func:`redact`);
* the values of key-like URL parameters (``api_key``, ``apiKey``, ``key``, ``token``,
  ``access_token``, ...) and any ``user:password@`` part of a URL become ``***``;
* credential headers (``Authorization``, ``api-key``, ``x-api-key``, ``Cookie``,
  ``Set-Cookie``, ``Proxy-Authorization``) become ``***``, as do bearer/basic tokens in text.

:func:`known_secrets` collects the secrets to look for: the given settings' and the
environment's.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
import traceback
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote, quote_plus, urlencode, urlsplit, urlunsplit

if TYPE_CHECKING:  # pragma: no cover
    from .settings import Settings

__all__ = [
    "MASK",
    "SECRET_HEADERS",
    "SECRET_PARAMS",
    "install_log_redaction",
    "known_secrets",
    "redact",
    "scrub",
    "scrub_bytes",
    "scrub_file",
    "scrub_headers",
    "scrub_url",
]

MASK = "***"

SECRET_PARAMS = frozenset({"api_key", "apikey", "key", "token", "access_token"})
"""URL query parameters whose values are credentials (compared lower-cased) in a URL that is
stored (recordings): masking more would change which recorded exchange a request matches."""
SECRET_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "api-key", "x-api-key", "cookie", "set-cookie"}
)

# Key-like parameters in free text (messages, logs): the upstreams' (SerpAPI ``api_key``,
# Geoapify ``apiKey``) and common others. Matched case-insensitively, value masked.
_SECRET_PARAM = re.compile(
    r"(?i)(\b(?:api_?key|key|token|access_token|auth|secret|password)=)[^&#\s\"'<>]*"
)
_AUTH_HEADER = re.compile(
    r"(?i)\b(authorization['\"]?\s*[:=]\s*['\"]?(?:bearer|basic)\s+)[^\s'\",}]+"
)


# ------------------------------------------------------------------------------ values
def known_secrets(settings: Settings | None = None) -> tuple[str, ...]:
    """Every configured secret: ``settings``' and the environment's, longest first (never log
    the result)."""
    from .settings import Settings

    found: set[str] = set()
    if settings is not None:
        found.update(settings.secret_values())
    # A broken environment must not stop the redaction of the rest.
    with contextlib.suppress(Exception):
        found.update(Settings().secret_values())
    return tuple(sorted((s for s in found if s), key=len, reverse=True))


def _variants(secrets: Iterable[str]) -> tuple[str, ...]:
    """The secrets and their URL-encoded forms, longest first."""
    values = {s for s in secrets if s}
    out = {v for s in values for v in (s, quote(s, safe=""), quote_plus(s))}
    return tuple(sorted(out, key=len, reverse=True))


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Every secret in ``text`` (also URL-encoded) replaced by ``***``."""
    for s in _variants(secrets):
        text = text.replace(s, MASK)
    return text


def scrub(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` made safe to show: key-like URL parameters masked, secrets redacted, one line."""
    text = _SECRET_PARAM.sub(rf"\1{MASK}", text)
    text = redact(text, secrets)
    return " ".join(text.split())


# ------------------------------------------------------------------------------ HTTP parts
def scrub_url(url: object, secrets: Iterable[str] = ()) -> str:
    """``url`` (text or ``httpx.URL``) with credential parameters and user info masked and
    every secret redacted; a URL without any is returned exactly as it was."""
    parts = urlsplit(str(url))
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{MASK}@{netloc.rsplit('@', 1)[1]}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(k.lower() in SECRET_PARAMS for k, _ in pairs):
            query = urlencode(
                [(k, MASK if k.lower() in SECRET_PARAMS else v) for k, v in pairs], safe="*"
            )
    out = urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
    return redact(out, secrets)


def scrub_headers(
    headers: Iterable[tuple[str, str]], secrets: Iterable[str] = ()
) -> list[list[str]]:
    """Header pairs with credential headers masked and secrets redacted (names lower-cased)."""
    secrets = tuple(secrets)
    out: list[list[str]] = []
    for name, value in headers:
        low = name.lower()
        out.append([low, MASK if low in SECRET_HEADERS else redact(value, secrets)])
    return out


def scrub_bytes(body: bytes, secrets: Iterable[str] = ()) -> bytes:
    """A body with every secret redacted: as text when it is UTF-8, else byte for byte."""
    secrets = tuple(s for s in secrets if s)
    if not body or not secrets:
        return body
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        out = body
        for s in sorted(secrets, key=len, reverse=True):
            out = out.replace(s.encode(), MASK.encode())
        return out
    return redact(text, secrets).encode("utf-8")


def scrub_file(path: Path, secrets: Iterable[str] = ()) -> bool:
    """Redact secrets in a file in place; False when it is binary and holds one (the caller
    must not publish it)."""
    secrets = tuple(s for s in secrets if s)
    if not secrets:
        return True
    data = path.read_bytes()
    if not any(s.encode("utf-8") in data for s in secrets):
        return True
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    path.write_text(redact(text, secrets), encoding="utf-8")
    return True


# ------------------------------------------------------------------------------ logs
_log_secrets: set[str] = set()
_log_lock = threading.Lock()
_log_installed = False


def _scrub_log_text(text: str, secrets: Iterable[str] = ()) -> str:
    """Log text with key-like URL parameters, bearer/basic tokens and ``secrets`` masked (line
    breaks kept: a traceback stays readable)."""
    text = _SECRET_PARAM.sub(rf"\1{MASK}", text)
    text = _AUTH_HEADER.sub(rf"\1{MASK}", text)
    return redact(text, secrets)


def _scrub_record(record: logging.LogRecord) -> None:
    secrets = tuple(_log_secrets)
    try:
        message = record.getMessage()
    except Exception:  # a malformed record is the logging module's to report
        return
    clean = _scrub_log_text(message, secrets)
    if clean != message:
        record.msg = clean
        record.args = None
    if record.exc_info and not record.exc_text:
        text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
        clean = _scrub_log_text(text, secrets)
        if clean != text:
            record.exc_text = clean
    if record.stack_info:
        record.stack_info = _scrub_log_text(record.stack_info, secrets)


def install_log_redaction(secrets: Iterable[str] = ()) -> None:
    """Scrub every log record from now on: key-like URL parameters, bearer tokens, ``secrets``.

    Works through the record factory, so it covers every logger (httpx, httpcore, openai, ...)
    and every handler, including ones added later (pytest's caplog, notebooks). Idempotent;
    secrets accumulate over calls.
    """
    global _log_installed
    with _log_lock:
        _log_secrets.update(s for s in secrets if s)
        if _log_installed:
            return
        previous = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            _scrub_record(record)
            return record

        logging.setLogRecordFactory(factory)
        _log_installed = True
