"""``underfoot-lab``: a short CLI over the workbench.

Subcommands are modules in :mod:`underfoot_lab.commands`, discovered by name. Errors a user can
act on print one line on stderr and exit non-zero; there is never a traceback unless
``--debug`` is given.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
from collections.abc import Sequence
from types import ModuleType

from . import commands


def _command_names() -> dict[str, str]:
    """Command name -> module name, without importing any command."""
    return {
        info.name.replace("_", "-"): info.name
        for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda i: i.name)
        if not info.name.startswith("_")
    }


def _command_modules(only: str | None = None) -> dict[str, ModuleType]:
    return {
        name: importlib.import_module(f"{commands.__name__}.{module}")
        for name, module in _command_names().items()
        if only is None or name == only
    }


def _chosen_command(raw: Sequence[str]) -> str | None:
    """The command named on the command line, if it is one (the global flags take no value)."""
    for arg in raw:
        if arg.startswith("-"):
            if arg in ("--debug", "--log-json"):
                continue
            return None
        return arg if arg in _command_names() else None
    return None


def build_parser(only: str | None = None) -> tuple[argparse.ArgumentParser, dict[str, ModuleType]]:
    """The parser with every command, or with the command ``only`` alone: importing each
    command's module (some import MLflow helpers, pandas users, ...) is most of a fast command's
    start-up, and parsing one command needs only its own arguments."""
    parser = argparse.ArgumentParser(
        prog="underfoot-lab",
        description="Research and evaluation workbench for Underfoot (hidden-gems search).",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    parser.add_argument(
        "--log-json",
        action="store_true",
        help="write structured logs (JSON lines, secrets redacted) on stderr",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    mods = _command_modules(only)
    for name, mod in mods.items():
        mod.add_arguments(sub.add_parser(name, help=mod.HELP, description=mod.HELP))
    return parser, mods


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``underfoot-lab`` console script."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    # pydantic looks for plugins in every installed distribution's entry points the first
    # time a model is built (~0.1 s of a command's start-up); the CLI uses none. Set the
    # variable to "" to load them anyway.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    raw = list(sys.argv[1:] if argv is None else argv)
    for arg in raw:
        # Undecodable bytes reach Python as lone surrogates; say so before anything uses them.
        if any("\udc80" <= ch <= "\udcff" for ch in arg):
            shown = arg.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
            print(f"error: argument {shown!r} is not valid UTF-8 text", file=sys.stderr)
            return 2
    parser, mods = build_parser(_chosen_command(raw))
    args = parser.parse_args(raw)
    if not args.command:
        parser.print_help()
        return 2
    from .errors import UnderfootError

    try:
        if args.log_json:
            _start_logs()
        code: int = mods[args.command].run(args)
        return code
    except UnderfootError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:
        from pydantic import ValidationError

        if isinstance(exc, ValidationError) and exc.title == "Settings":
            # An invalid UNDERFOOT_* value is bad input (exit 2), named by its variable.
            from .settings import settings_error

            print(f"error: {settings_error(exc)}", file=sys.stderr)
            return 2
        if args.debug:
            raise
        from .redaction import redact
        from .settings import Settings

        msg = redact(f"{type(exc).__name__}: {exc}", Settings().secret_values())
        print(f"internal error: {msg} (re-run with --debug for details)", file=sys.stderr)
        return 1


def _start_logs() -> None:
    from . import logs
    from .settings import Settings

    logs.configure(json=True, secrets=Settings().secret_values())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
