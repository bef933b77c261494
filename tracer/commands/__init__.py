"""The `walkthrough` subcommands, one module each.

Each module defines `NAME`, `add_parser(subparsers)` (argparse only: no heavy imports at module
level, so `walkthrough --help` stays fast) and `run(args, program_args, console) -> int`.
A new subcommand is a new module plus one line in tracer.cli.COMMANDS.
"""
from __future__ import annotations

import argparse

EXIT_OK, EXIT_PROGRAM_FAILED, EXIT_USAGE, EXIT_INTERNAL, EXIT_INTERRUPTED = 0, 1, 2, 3, 130

EPILOG = """\
exit codes:
  0    the walkthrough (or command) finished
  1    the program being walked through raised an exception or exited non-zero
  2    bad command line, walkthrough file or answers file (the message says which and where);
       with --vscode: port in use, or no editor attached in time
  3    a bug in walkthrough itself (the message has its traceback; progress is saved)
  130  interrupted: Ctrl-C or end of input at a prompt (progress is saved)

progress is kept in $WALKTHROUGH_STATE_DIR (default ~/.local/state/walkthrough).
"""


class UsageError(Exception):
    """Bad input from the command line; the message says what to do."""


def subparser(sub, name: str, *, help: str, description: str = "", epilog: str = EPILOG) -> argparse.ArgumentParser:
    """A subcommand's parser with the house style: raw description, the exit codes as epilog."""
    return sub.add_parser(name, help=help, description=description or help, epilog=epilog,
                          formatter_class=argparse.RawDescriptionHelpFormatter)


def store(console):
    """The progress store, with its load warnings printed."""
    from rich.text import Text

    from ..progress import ProgressStore

    progress = ProgressStore()
    for warning in progress.warnings:
        console.print(Text.assemble(("warning: ", "yellow"), warning))
    return progress
