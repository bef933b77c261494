"""The `walkthrough` subcommands, one module each.

Each module defines `NAME`, `add_parser(subparsers)` (argparse only: no heavy imports at module
level, so `walkthrough --help` stays fast) and `run(args, program_args, console) -> int`.
A new subcommand is a new module plus one line in tracer.cli.COMMANDS.
"""
from __future__ import annotations

import argparse

EXIT_OK, EXIT_PROGRAM_FAILED, EXIT_USAGE, EXIT_INTERNAL, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
EXIT_BROKEN_PIPE = 141      # the reader of our output went away (`walkthrough list | head -1`), as a shell reports it

EPILOG = """\
exit codes:
  0    the walkthrough (or command) finished
  1    the program being walked through raised an exception or exited non-zero
  2    bad command line, walkthrough file or answers file (the message says which and where);
       with --vscode: port in use, or no editor attached in time
  3    a bug in walkthrough itself (progress is saved; the message names a file with the details to report)
  130  interrupted: Ctrl-C or end of input at a prompt (progress is saved)
  141  the output was closed (e.g. piped into `head`)

progress is kept in $WALKTHROUGH_STATE_DIR (default ~/.local/state/walkthrough).
"""


class UsageError(Exception):
    """Bad input from the command line; the message says what to do."""


def output_closed() -> bool:
    """Is our standard output gone: a reader that went away (`| head`), or a descriptor the program closed?"""
    import os
    import select

    try:
        os.fstat(1)
        poll = select.poll()
        poll.register(1, select.POLLOUT)
        return any(events & (select.POLLERR | select.POLLHUP | select.POLLNVAL) for _, events in poll.poll(0))
    except OSError:
        return True


def os_error_message(exc: OSError, path=None) -> str:
    """An OSError on a path the user gave (a file where a folder is needed, no permission, a full disk) as one
    line naming the path: it is the input or the machine, not a bug of ours."""
    import errno

    path = path if path is not None else exc.filename if exc.filename is not None else "?"
    advice = {errno.ENOTDIR: "a part of this path is a file, not a folder",
              errno.EISDIR: "this is a folder, not a file",
              errno.EEXIST: "it already exists",
              errno.EACCES: "permission denied", errno.EPERM: "permission denied",
              errno.ENOSPC: "no space left on the device", errno.EROFS: "the file system is read-only",
              errno.ENAMETOOLONG: "the name is too long"}.get(exc.errno, exc.strerror or type(exc).__name__)
    return f"{path}: cannot use it ({advice}); choose another path"


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


def report_crash(console, details: str, what: str = "walkthrough hit a bug of its own") -> int:
    """A bug of ours: one clear paragraph on screen, the traceback in a file to attach to a report."""
    import os
    import tempfile
    import time

    from rich.text import Text

    from ..progress import state_dir

    last = details.strip().splitlines()[-1] if details.strip() else "unknown error"
    name = f"crash-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.txt"
    saved = None
    for folder in (state_dir() / "crashes", tempfile.gettempdir()):
        try:
            os.makedirs(folder, exist_ok=True)
            path = os.path.join(folder, name)
            with open(path, "w", encoding="utf-8", errors="backslashreplace") as f:
                f.write(details)
            saved = path
            break
        except OSError:
            continue
    where = f"the details are in {saved}; please attach that file to a bug report" if saved else \
        "the details could not be written to a file"
    try:
        console.print(Text.assemble((what, "bold red"), f" ({last[:300]}). Your progress is saved; {where}."))
    except OSError:             # our output is gone too: the crash file is all there is
        pass
    return EXIT_INTERNAL
