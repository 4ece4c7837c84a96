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


def _command_modules() -> dict[str, ModuleType]:
    found = {}
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        found[info.name.replace("_", "-")] = importlib.import_module(
            f"{commands.__name__}.{info.name}"
        )
    return found


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, ModuleType]]:
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
    mods = _command_modules()
    for name, mod in mods.items():
        mod.add_arguments(sub.add_parser(name, help=mod.HELP, description=mod.HELP))
    return parser, mods


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``underfoot-lab`` console script."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    raw = list(sys.argv[1:] if argv is None else argv)
    for arg in raw:
        # Undecodable bytes reach Python as lone surrogates; say so before anything uses them.
        if any("\udc80" <= ch <= "\udcff" for ch in arg):
            shown = arg.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
            print(f"error: argument {shown!r} is not valid UTF-8 text", file=sys.stderr)
            return 2
    parser, mods = build_parser()
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
