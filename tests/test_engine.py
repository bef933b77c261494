"""The engine stops exactly where and when asked, only in the repo, and leaves no tracer behind."""
import sys
import textwrap
from pathlib import Path

import pytest

from tracer.engine import anchors
from tracer.engine.stops import CONTINUE, STEP_INTO, STEP_OVER, Engine, StopPoint

SCRIPT = '''
import json
from helper import double

total = 0
for i in range(1, 11):
    total = total + double(i)
    text = json.dumps({"i": i})
print("total", total)
'''
HELPER = '''
def double(x):
    y = x * 2
    return y
'''


@pytest.fixture
def repo(tmp_path):
    (tmp_path / "script.py").write_text(SCRIPT)
    (tmp_path / "helper.py").write_text(HELPER)
    return tmp_path


def point(repo, file, at, **when):
    statement = anchors.resolve(repo / file, at)
    return StopPoint(str((repo / file).resolve()), statement.line, key=at, **when)


class Recorder:
    """A client that records every stop and answers with scripted actions."""

    def __init__(self, actions=()):
        self.actions = list(actions)
        self.events = []
        self.traces = []

    def user_stop(self, frame, point):
        self.events.append(("stop", point.key, Path(frame.f_code.co_filename).name, frame.f_lineno,
                            dict(frame.f_locals).get("i")))
        self.traces.append(sys.gettrace())
        return self.actions.pop(0) if self.actions else CONTINUE

    def user_line(self, frame):
        self.events.append(("line", Path(frame.f_code.co_filename).name, frame.f_code.co_name, frame.f_lineno))
        return self.actions.pop(0) if self.actions else CONTINUE


def run(repo, points, client):
    engine = Engine(points, repo, client)
    engine.run_script(repo / "script.py", [])
    return engine


@pytest.mark.parametrize("when, expected_i", [
    ({}, [1]),
    ({"hit": 4}, [4]),
    ({"every": 3}, [3]),
    ({"when": "i == 10"}, [10]),
    ({"hit": 7, "when": "total > 0"}, [7]),
])
def test_stops_exactly_at_the_configured_hit(repo, when, expected_i):
    client = Recorder()
    engine = run(repo, [point(repo, "script.py", "total = total + double(i)", **when)], client)
    assert [e[4] for e in client.events] == expected_i
    assert engine.hits == [10]


def test_steps_stop_in_tour_order_and_in_imported_modules(repo):
    points = [point(repo, "script.py", "total = total + double(i)", hit=2),
              point(repo, "helper.py", "y = x * 2"),
              point(repo, "script.py", 'print("total", total)')]
    client = Recorder()
    run(repo, points, client)
    # helper's line ran at i=1 and i=2 before step 1 fired; it stops at its first hit *after* step 1
    assert [(e[1], e[2]) for e in client.events] == [
        ("total = total + double(i)", "script.py"), ("y = x * 2", "helper.py"), ('print("total", total)', "script.py")]
    assert client.events[0][3] == anchors.resolve(repo / "script.py", "total = total + double(i)").line


def test_no_trace_function_at_stops_or_after_the_run(repo):
    client = Recorder()
    run(repo, [point(repo, "script.py", "total = total + double(i)", hit=3)], client)
    assert client.traces == [None]
    assert sys.gettrace() is None


def test_step_into_enters_repo_functions_but_never_the_stdlib(repo):
    client = Recorder([STEP_INTO] * 8)
    run(repo, [point(repo, "script.py", "total = total + double(i)")], client)
    lines = [e for e in client.events if e[0] == "line"]
    assert lines[0][1:3] == ("helper.py", "double")          # stepped into double()
    assert {e[1] for e in lines} <= {"script.py", "helper.py"}  # never json/encoder.py
    assert any(e[1] == "script.py" and e[2] == "<module>" for e in lines)
    assert sys.gettrace() is None


def test_step_over_stays_in_the_frame(repo):
    client = Recorder([STEP_OVER, STEP_OVER, CONTINUE])
    run(repo, [point(repo, "script.py", "total = total + double(i)")], client)
    lines = [e for e in client.events if e[0] == "line"]
    assert [e[1] for e in lines] == ["script.py", "script.py"]
    source = (repo / "script.py").read_text().splitlines()
    assert source[lines[0][3] - 1].strip().startswith("text = json.dumps")
    assert sys.gettrace() is None


def test_line_numbers_and_tracebacks_are_unchanged(repo):
    (repo / "script.py").write_text(SCRIPT + "raise ValueError('boom')\n")
    engine = Engine([point(repo, "script.py", "total = total + double(i)")], repo, Recorder())
    with pytest.raises(ValueError) as info:
        engine.run_script(repo / "script.py", [])
    last = info.traceback[-1]
    assert Path(str(last.path)).name == "script.py" and last.lineno + 1 == len(SCRIPT.splitlines()) + 1


def test_anchor_survives_edits_elsewhere(repo):
    before = anchors.resolve(repo / "script.py", "total = total + double(i)")
    edited = "# a comment\n" * 10 + SCRIPT.replace('print("total", total)', 'print("sum:", total)')
    (repo / "script.py").write_text(edited)
    after = anchors.resolve(repo / "script.py", "total = total + double(i)")
    assert after.line == before.line + 10 and after.code == before.code
    client = Recorder()
    run(repo, [point(repo, "script.py", "total   =  total+double( i )", hit=2)], client)
    assert client.events[0][3] == after.line and client.events[0][4] == 2


def test_stale_anchor_names_nearest_line(repo):
    with pytest.raises(anchors.AnchorError) as info:
        anchors.resolve(repo / "script.py", "total = total + triple(i)")
    assert "nearest: line 7: total = total + double(i)" in str(info.value)


def test_ambiguous_anchor_lists_lines(tmp_path):
    (tmp_path / "s.py").write_text(textwrap.dedent("""
        x = 1
        def f():
            x = 1
    """))
    with pytest.raises(anchors.AnchorError, match=r"matches 2 statements .*lines 2, 4"):
        anchors.resolve(tmp_path / "s.py", "x = 1")
    assert anchors.resolve(tmp_path / "s.py", "x = 1", "f").line == 4


def test_resolved_anchor_cache_follows_edits(repo, tmp_path):
    cache = anchors.ResolvedCache(tmp_path / "cache.json")
    first = anchors.resolve(repo / "script.py", "total = total + double(i)", cache=cache)
    cache.save()
    warm = anchors.ResolvedCache(tmp_path / "cache.json")
    assert warm.get(warm.key(repo / "script.py", "total = total + double(i)", None)) == first
    (repo / "script.py").write_text("# moved\n" + SCRIPT)
    moved = anchors.resolve(repo / "script.py", "total = total + double(i)", cache=warm)
    assert moved.line == first.line + 1


def test_broken_when_is_not_swallowed_by_the_learners_except_exception(tmp_path):
    from tracer.engine.stops import WhenError
    (tmp_path / "s.py").write_text("try:\n    x = 1\nexcept Exception:\n    x = 2\n")
    engine = Engine([point(tmp_path, "s.py", "x = 1", when="missing > 0")], tmp_path, Recorder())
    with pytest.raises(WhenError, match="missing > 0"):
        engine.run_script(tmp_path / "s.py", [])
