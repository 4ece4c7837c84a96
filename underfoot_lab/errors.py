"""Errors a user can act on. Their messages are one line and never contain secrets."""

from __future__ import annotations


class UnderfootError(Exception):
    """Base class: the CLI prints ``str(err)`` on one line and exits non-zero."""

    exit_code = 2


class BadQuery(UnderfootError):
    """The query text itself is unusable (empty, too long, control characters)."""


class LocationNotFound(UnderfootError):
    """No location could be found in the query, or it is not a known place."""

    def __init__(self, message: str, suggestions: tuple[str, ...] = ()) -> None:
        if suggestions:
            message = f"{message} Did you mean: {', '.join(suggestions)}?"
        super().__init__(message)
        self.suggestions = suggestions


class ConfigError(UnderfootError):
    """Settings, a weights file, a region set or an experiment spec is invalid."""


def require_extra(module: str, extra: str) -> None:
    """Raise :class:`ConfigError` naming the pip extra when optional ``module`` (dask,
    optuna, the service stack) is not installed; the core install leaves them out."""
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise ConfigError(
            f"{module} is not installed: it comes with the {extra!r} extra "
            f"(pip install 'underfoot-lab[{extra}]', or make demo)"
        )


class UpstreamError(Exception):
    """An upstream call failed; ``error_class`` is one of records.ErrorClass."""

    def __init__(self, error_class: str, message: str) -> None:
        super().__init__(message)
        self.error_class = error_class


class SourceSkipped(Exception):
    """A source has nothing to ask for this request (no token, nothing mapped for the town);
    the gatherer reports it as ``skipped`` with this one-line reason, not as a failure."""
