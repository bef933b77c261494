"""`walkthrough vscode [NAME]`: write .vscode/launch.json to attach VS Code to `walkthrough start --vscode`."""
from __future__ import annotations

from pathlib import Path

from rich.text import Text

from . import EXIT_OK, UsageError, subparser
from .start import port_number


def add_parser(sub, name: str) -> None:
    code = subparser(sub, name, help="write .vscode/launch.json to attach VS Code to `walkthrough start --vscode`",
                     description="Merge two configurations into .vscode/launch.json (others are kept): "
                                 "'walkthrough: attach' (attach to a running `walkthrough start NAME --vscode`) and "
                                 "'walkthrough: start NAME' (launch it from VS Code).")
    code.add_argument("name", nargs="?", default="ppo", help="walkthrough for the launch configuration")
    code.add_argument("--port", type=port_number, default=5678, help="debugpy's port (1-65535)")
    code.add_argument("--host", default="127.0.0.1")
    code.add_argument("--dir", default=".", help="the folder VS Code opens (default: here)")


def run(args, program_args, console) -> int:
    from .. import spec
    from ..vscode import VSCodeError, write_launch_json

    spec.find(args.name)          # an unknown walkthrough is an error here, not when VS Code launches it
    try:
        path, notes = write_launch_json(Path(args.dir), args.name, args.host, args.port)
    except VSCodeError as exc:
        raise UsageError(str(exc)) from None
    console.print(Text(f"wrote {path}: 'walkthrough: attach' (port {args.port}) and 'walkthrough: start {args.name}'"))
    for note in notes:
        console.print(Text.assemble(("note: ", "yellow"), note))
    return EXIT_OK
