"""The `walkthrough` command: parse the command line and hand over to one subcommand module."""
from __future__ import annotations

import argparse
import importlib
import sys

from rich.text import Text

from . import show
from .commands import (EPILOG, EXIT_BROKEN_PIPE, EXIT_INTERRUPTED, EXIT_USAGE, UsageError, os_error_message,
                       output_closed, report_crash)

# subcommand -> module of tracer.commands (in the order `walkthrough --help` lists them)
COMMANDS = {
    "list": "listing",
    "start": "start",
    "progress": "progress",
    "reset": "progress",
    "check": "check",
    "quiz": "quiz",
    "exercises": "exercises",
    "implement": "implement",
    "vscode": "vscode",
    "experiment": "experiment",
    "bughunt": "bughunt",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="walkthrough", formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EPILOG,
        description="Step through small, real ML codebases while they run: see each line, its math and its "
                    "live values, and answer questions about what it does.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module in COMMANDS.items():
        importlib.import_module(f".commands.{module}", __package__).add_parser(sub, name)
    return parser


def main(argv: list[str] | None = None) -> int:
    # any text can be printed: a lone surrogate in a path, or "✓" on a latin-1 terminal, never stops us
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    console = show.make_console()
    try:
        return _main(argv, console)
    except KeyboardInterrupt:
        console.print(Text("\nInterrupted."))
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return _output_gone()
    except SystemExit as exc:
        if console.quiet and exc.code == 1:    # rich met a broken pipe: it went quiet and exits 1
            return EXIT_BROKEN_PIPE
        raise
    except OSError as exc:
        if output_closed():                    # the program closed our stdout, or the reader went away
            return _output_gone()
        if exc.filename is None:
            import traceback
            return report_crash(console, traceback.format_exc())
        console.print(Text.assemble(("error: ", "bold red"), os_error_message(exc)))   # a path given: the input
        return EXIT_USAGE
    except (Exception, RecursionError, MemoryError):
        import traceback
        return report_crash(console, traceback.format_exc())


def _output_gone() -> int:
    """The reader went away: say nothing more (Python's own advice: point stdout at devnull before exiting)."""
    import os
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
    except OSError:
        pass
    return EXIT_BROKEN_PIPE


def _main(argv: list[str] | None, console) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    program_args: list[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, program_args = argv[:cut], argv[cut + 1:]
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    module = importlib.import_module(f".commands.{COMMANDS[args.command]}", __package__)
    from .datafile import DataFileError
    from .progress import ProgressError
    from .spec import SpecError

    try:
        if program_args and not getattr(module, "TAKES_PROGRAM_ARGS", False):
            raise UsageError(f"`--` passes arguments to a program; `walkthrough {args.command}` runs none")
        return module.run(args, program_args, console)
    except (SpecError, UsageError, ProgressError, DataFileError) as exc:   # catalogue errors are DataFileErrors
        console.print(Text.assemble(("error: ", "bold red"), str(exc)))
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
