"""Reading the data files people edit by hand (walkthroughs, answers, launch.json, catalogues) safely.

Whatever the file holds (binary, another encoding, a 1 GB blob, 100,000 nested brackets, a 5,000-digit
number), the error is a DataFileError whose message names the file, the line where one is known, and
what to do; never a UnicodeDecodeError, RecursionError or MemoryError.
"""
from __future__ import annotations

import json
import tomllib
from pathlib import Path


class DataFileError(Exception):
    """A data file that cannot be read or parsed; the message is ready to show. The catalogues' own errors
    (idioms, faults, bug hunts) derive from it, so that the command line reports any of them as bad input."""


def read_text(path: Path, what: str, limit_bytes: int = 4 * 2 ** 20, encoding: str = "utf-8") -> str:
    """The file's text. `what` names the file's role in messages ("walkthrough file", "answers file")."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            raw = f.read(limit_bytes + 1)
    except FileNotFoundError:
        raise DataFileError(f"{path}: no such {what}") from None
    except IsADirectoryError:
        raise DataFileError(f"{path}: cannot read it (IsADirectoryError: it is a folder)") from None
    except OSError as exc:
        raise DataFileError(f"{path}: cannot read it ({exc.__class__.__name__}: {exc.strerror})") from None
    if len(raw) > limit_bytes:
        size = f"{limit_bytes // 2 ** 20} MB" if limit_bytes >= 2 ** 20 else f"{limit_bytes // 1024} kB"
        raise DataFileError(f"{path}: larger than {size}: not {_a(what)}")
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise DataFileError(f"{path}:{line}: not UTF-8 text (byte {raw[exc.start]:#04x}); {_a(what)} is UTF-8 "
                            "text: save it as UTF-8") from None


def loads(text: str, path: Path, kind: str, what: str):
    """Parse TOML or JSON text; errors name the file (and the line, where the parser gives one)."""
    try:
        return tomllib.loads(text) if kind == "TOML" else json.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise DataFileError(f"{path}: not valid {kind}: {exc}") from None
    except RecursionError:
        raise DataFileError(f"{path}: nested too deeply to be {_a(what)}") from None
    except ValueError as exc:                      # e.g. an integer of 5,000 digits
        if "digits" in str(exc):
            raise DataFileError(f"{path}: holds a number of more than 4300 digits: not {_a(what)}") from None
        raise DataFileError(f"{path}: not a usable {what} ({str(exc)[:120]})") from None


def read_toml(path: Path, what: str, limit_bytes: int = 4 * 2 ** 20) -> tuple[str, dict]:
    """A hand-edited TOML file's text (for line numbers in later messages) and its data."""
    text = read_text(path, what, limit_bytes)
    return text, loads(text, path, "TOML", what)


def _a(what: str) -> str:
    return f"{'an' if what[:1] in 'aeiou' else 'a'} {what}"


def cached_json_object(path: Path) -> dict:
    """A cache file's JSON object, or {} when it is missing, damaged or not an object (a cache is rebuilt,
    never an error)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return {}
    return data if isinstance(data, dict) else {}
