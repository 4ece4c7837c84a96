"""Structured logs (structlog): one JSON line per event, every event redacted.

::

    from underfoot_lab import logs

    logs.configure(json=True, secrets=settings.secret_values())
    log = logs.get_logger("service")
    with logs.bound(request_id="abc"):
        log.info("search.start", query="hidden gems in Pikeville KY")

Events (names are dotted, fields are flat): ``search.start``, ``search.cache_hit``,
``search.complete`` (``request_id``, ``elapsed_ms``, ``result_count``, ``primary_count``,
``nearby_count``, ``stages`` timings), ``source.failed`` (``source``, ``error_class``),
``request.complete`` (the service) and ``cli.complete`` (the CLI's ``--log-json``).

Until :func:`configure` is called every event is dropped, so library code may log freely without
writing into a notebook or onto a command's stdout. structlog is an optional dependency (the
``service`` extra): without it :func:`get_logger` returns a logger that drops everything and
:func:`configure` refuses with a one-line :class:`~underfoot_lab.errors.ConfigError`.

Every event passes through the workbench's redaction twice: each value before rendering (so a
secret inside a nested field is caught) and the rendered line after it (so a secret in a key or
in a value's repr is caught too).
"""

from __future__ import annotations

import contextlib
import json as _json
import sys
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, Protocol, TextIO

from .redaction import redact as _redact

if TYPE_CHECKING:  # pragma: no cover
    from .records import SearchResult

_SECRETS: set[str] = set()


class EventLogger(Protocol):
    """What callers use of a structlog bound logger."""

    def debug(self, event: str, **kw: Any) -> Any: ...
    def info(self, event: str, **kw: Any) -> Any: ...
    def warning(self, event: str, **kw: Any) -> Any: ...
    def error(self, event: str, **kw: Any) -> Any: ...
    def bind(self, **kw: Any) -> EventLogger: ...


class _NullLogger:
    """Drops everything; stands in when structlog is not installed."""

    def debug(self, event: str, **kw: Any) -> None:
        return None

    info = warning = error = debug

    def bind(self, **kw: Any) -> _NullLogger:
        return self


def _structlog() -> Any:
    try:
        import structlog
    except ImportError:
        return None
    return structlog


def add_secrets(secrets: tuple[str, ...] | list[str]) -> None:
    """Add values that must never appear in a log line (API keys, tokens)."""
    _SECRETS.update(s for s in secrets if s)


def redact_value(value: Any) -> Any:
    """``value`` with every known secret replaced by ``***`` (strings, mappings, sequences)."""
    secrets = tuple(sorted(_SECRETS, key=len, reverse=True))
    return _redact_with(value, secrets)


def _redact_with(value: Any, secrets: tuple[str, ...]) -> Any:
    if not secrets:
        return value
    if isinstance(value, str):
        return _redact(value, secrets)
    if isinstance(value, Mapping):
        return {_redact_with(k, secrets): _redact_with(v, secrets) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_with(v, secrets) for v in value]
    if isinstance(value, int | float | bool) or value is None:
        return value
    # Anything else is rendered by its str(); redact that form now.
    return _redact(str(value), secrets)


def _redact_event(_logger: Any, _method: str, event_dict: Any) -> Any:
    return redact_value(event_dict)


def _redact_line(_logger: Any, _method: str, line: Any) -> Any:
    secrets = tuple(sorted(_SECRETS, key=len, reverse=True))
    if isinstance(line, str):
        return _redact(line, secrets)
    return line


def configure(
    *,
    enabled: bool = True,
    json: bool | None = None,
    stream: TextIO | None = None,
    secrets: tuple[str, ...] = (),
    level: str = "info",
) -> None:
    """Turn structured logs on (or off with ``enabled=False``) for the whole process.

    ``json=None`` picks JSON lines unless ``stream`` (default stderr) is a terminal, where a
    console renderer is easier to read. ``secrets`` join the redaction list.
    """
    from .errors import ConfigError

    structlog = _structlog()
    if structlog is None:
        if enabled:
            raise ConfigError(
                "structured logs need structlog: pip install 'underfoot-lab[service]'"
            )
        return
    add_secrets(secrets)
    if not enabled:

        def drop(_logger: Any, _method: str, _event: Any) -> Any:
            raise structlog.DropEvent

        # Below critical nothing even reaches a processor; critical is dropped by `drop`.
        structlog.configure(
            processors=[drop],
            wrapper_class=structlog.make_filtering_bound_logger(50),
            logger_factory=structlog.ReturnLoggerFactory(),
            cache_logger_on_first_use=False,
        )
        return
    out = stream if stream is not None else sys.stderr
    as_json = json if json is not None else not _isatty(out)
    renderer: Any
    if as_json:
        renderer = structlog.processors.JSONRenderer(
            serializer=lambda obj, **kw: _json.dumps(obj, default=str, ensure_ascii=False)
        )
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=False)
    levels = {"debug": 10, "info": 20, "warning": 30, "error": 40}
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True, key="timestamp"),
            _redact_event,
            renderer,
            _redact_line,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(levels.get(level, 20)),
        logger_factory=structlog.PrintLoggerFactory(file=out),
        cache_logger_on_first_use=False,
    )


def _isatty(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def get_logger(name: str) -> EventLogger:
    """A logger whose events carry ``component=name``.

    It is lazy: each event uses the configuration of the moment, so a logger made at import
    time logs once :func:`configure` has run (and drops everything before). ``bind`` returns a
    logger fixed to the configuration at that time.
    """
    structlog = _structlog()
    if structlog is None:
        return _NullLogger()
    if not structlog.is_configured():
        configure(enabled=False)
    logger: EventLogger = structlog.get_logger(component=name)
    return logger


@contextlib.contextmanager
def bound(**values: Any) -> Iterator[None]:
    """Add ``values`` (e.g. ``request_id``) to every event logged inside the block (contextvars,
    so concurrent requests on one event loop do not see each other's values)."""
    structlog = _structlog()
    if structlog is None:
        yield
        return
    with structlog.contextvars.bound_contextvars(**values):
        yield


def stage_timings(result: SearchResult) -> dict[str, float]:
    """Stage name -> milliseconds for the top-level stages of a search's trace."""
    return {t.stage: round(t.elapsed_ms, 3) for t in result.trace if "." not in t.stage}


def log_search(
    result: SearchResult,
    *,
    elapsed_ms: float,
    request_id: str | None = None,
    logger: EventLogger | None = None,
) -> None:
    """The events of one finished search: ``search.cache_hit`` (on a hit), ``source.failed``
    (per failed source, on a fresh answer only: a hit replays old statuses) and
    ``search.complete``."""
    if logger is None and "structlog" not in sys.modules:
        # Nothing configured logs on (configure() imports structlog): every event would be
        # dropped, so skip structlog's import (~0.1 s) on the CLI's fast path.
        return
    log = logger or get_logger("search")
    extra: dict[str, Any] = {} if request_id is None else {"request_id": request_id}
    hit = result.cache.status.startswith("hit")
    if hit:
        log.info(
            "search.cache_hit",
            layer=result.cache.status.removeprefix("hit-"),
            layer_ms=round(result.cache.layer_ms, 3),
            **extra,
        )
    else:
        for s in result.sources:
            if s.status in ("error", "timeout"):
                log.warning(
                    "source.failed",
                    source=s.source,
                    status=s.status,
                    error_class=s.error_class or "error",
                    elapsed_ms=round(s.elapsed_ms, 3),
                    **extra,
                )
    log.info(
        "search.complete",
        elapsed_ms=round(elapsed_ms, 3),
        result_count=len(result.results),
        primary_count=len(result.primary),
        nearby_count=len(result.nearby),
        cache=result.cache.status,
        stages=stage_timings(result),
        simulated=result.simulated,
        **extra,
    )
