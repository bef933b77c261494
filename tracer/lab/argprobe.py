"""Run as `python argprobe.py` with a JSON request on stdin: read a script's argparse flags without training.

The script runs as `python SCRIPT` would run it (its folder first on sys.path, __name__ ==
"__main__") until its first call to ArgumentParser.parse_known_args (which parse_args calls).
There we describe the parser's actions, then let the parser itself check candidate argument
lists (types, choices, nargs: its own error messages), and exit before the script goes on.
Standalone on purpose: the child imports nothing of walkthrough.

Dialogue, one JSON line each way (so the script's imports happen once for both answers):
  stdin  {"script": PATH}
  stdout "WALKTHROUGH-ARGPROBE {"prog": ..., "actions": [...]}"   (no such line: it never parsed arguments)
  stdin  [[ARG, ...], ...]                                         the candidates (an empty line: none)
  stdout "WALKTHROUGH-ARGPROBE [null | "error message", ...]"     one per candidate
"""
import argparse
import json
import os
import runpy
import sys

PREFIX = "WALKTHROUGH-ARGPROBE "


class _Rejected(Exception):
    pass


def _plain(value):
    """A JSON-safe form of a default or a choice."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return repr(value)


def _describe(action: argparse.Action) -> dict:
    return {"options": list(action.option_strings), "dest": action.dest, "kind": type(action).__name__,
            "nargs": action.nargs, "type": getattr(action.type, "__name__", None) if action.type else None,
            "choices": _plain(list(action.choices)) if action.choices is not None else None,
            "default": _plain(action.default), "const": _plain(action.const), "required": bool(action.required),
            "help": action.help if action.help is not argparse.SUPPRESS else None}


def _check(parser: argparse.ArgumentParser, parse, argv: list[str]):
    def error(message):
        raise _Rejected(message)

    parser.error = error
    try:
        _, extras = parse(parser, argv)
    except _Rejected as exc:
        return str(exc)
    except SystemExit as exc:          # e.g. an action that exits, such as --version
        return f"the parser exited ({exc.code})"
    finally:
        del parser.error
    return f"unrecognized arguments: {' '.join(extras)}" if extras else None


def _say(answer) -> None:
    sys.stdout.write("\n" + PREFIX + json.dumps(answer) + "\n")
    sys.stdout.flush()


def main() -> None:
    request = json.loads(sys.stdin.readline())
    script = os.path.abspath(request["script"])
    original = argparse.ArgumentParser.parse_known_args

    def probe(self, args=None, namespace=None):
        argparse.ArgumentParser.parse_known_args = original
        _say({"prog": self.prog, "actions": [_describe(a) for a in self._actions]})
        line = sys.stdin.readline()
        if line.strip():
            _say([_check(self, original, list(c)) for c in json.loads(line)])
        os._exit(0)

    argparse.ArgumentParser.parse_known_args = probe
    sys.argv = [script]
    sys.path[0] = os.path.dirname(script)
    runpy.run_path(script, run_name="__main__")


if __name__ == "__main__":
    main()
