"""Text that is not our own markup is never read as rich markup: a guard over tracer/'s source.

rich reads `[...]` in a str as markup, so an f-string or a concatenation with a value inside, passed to
console.print, a status, a Panel or Rule title or a table cell, crashes (`[/x]`) or garbles (`[[run]]` → `[]`)
whatever the value holds. Values go in `rich.text.Text`, `Text.assemble` or `show.say(template, value=...)`.
"""
import ast
from pathlib import Path

import pytest

from conftest import ROOT

RENDERING_CALLS = {"print", "status", "log", "add_row", "Panel", "Rule", "Status"}
SOURCES = sorted((ROOT / "tracer").rglob("*.py"))


def _builds_text_from_values(node) -> bool:
    """An f-string with a placeholder, `"..." + value`, "...".format(...) or "..." % value."""
    if isinstance(node, ast.JoinedStr):
        return any(isinstance(v, ast.FormattedValue) for v in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Mod)):
        return _is_str(node.left) or _is_str(node.right) or _builds_text_from_values(node.left) \
            or _builds_text_from_values(node.right)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format":
        return _is_str(node.func.value)
    return False


def _is_str(node) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str) or isinstance(node, ast.JoinedStr)


def _offences(path: Path, root: Path = ROOT):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        if name not in RENDERING_CALLS or name == "print" and not _is_console(node.func):
            continue
        arguments = list(node.args) + [k.value for k in node.keywords if k.arg in ("title", "subtitle")]
        for arg in arguments:
            if _builds_text_from_values(arg):
                yield f"{path.relative_to(root)}:{node.lineno}: {ast.unparse(arg)[:80]}"


def _is_console(func) -> bool:
    """console.print / self.console.print, not the builtin print (which rich does not parse)."""
    return isinstance(func, ast.Attribute) and "console" in ast.unparse(func.value)


@pytest.mark.parametrize("path", SOURCES, ids=[str(p.relative_to(ROOT)) for p in SOURCES])
def test_no_value_is_formatted_into_rich_markup(path):
    assert list(_offences(path)) == []


def test_the_guard_catches_what_it_should(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text('console.print(f"[red]{exc}[/]")\ntable.add_row(name + "!")\nPanel(x, title=f"{t}: done")\n'
                   'console.print(Text(f"{ok}"))\nprint(f"{fine}")\n')
    assert len(list(_offences(bad, tmp_path))) == 3
