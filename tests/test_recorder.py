"""The recorder: what a region reads and writes in a real run, at the executions asked for, cached by content."""
import sys
import textwrap

import pytest
import torch

from tracer.engine import recorder
from tracer.engine.recorder import Placeholder, Probe, RecorderError, record, region_names

SCRIPT = textwrap.dedent('''\
    import sys
    import threading
    import torch
    from helpers import scale


    def step(x, w, k):
        """One step."""
        y = x * w
        y = scale(y, k)
        return y.sum()


    def main():
        w = torch.tensor([1.0, 2.0], requires_grad=True)
        x = torch.ones(2)
        lock = threading.Lock()
        net = torch.nn.Linear(2, 1)
        net(x).sum().backward()
        history = []
        i = 0
        while True:                  # endless: the recording stops once every probe has its samples
            i += 1
            h = w * 2
            total = h + x * i
            history.append(i)
            step(x, w, i)
            x = x + 1


    if __name__ == "__main__":
        main()
    ''')
HELPERS = "def scale(t, k):\n    return t * k\n"


@pytest.fixture
def repo(tmp_path):
    (tmp_path / "repo").mkdir()
    (tmp_path / "repo" / "run.py").write_text(SCRIPT)
    (tmp_path / "repo" / "helpers.py").write_text(HELPERS)
    return tmp_path / "repo"


def lines_of(path, text):
    return [n for n, line in enumerate(path.read_text().splitlines(), 1) if text in line][0]


def probes(repo):
    script = repo / "run.py"
    loop_start, loop_end = lines_of(script, "h = w * 2"), lines_of(script, "history.append(i)")
    body_start, body_end = lines_of(script, "y = x * w"), lines_of(script, "return y.sum()")
    return [Probe("loop", str(script), loop_start, loop_end, ("w", "x", "i", "lock", "history", "net"),
                  ("h", "total", "history"), hits=(1, 3)),
            Probe("step", str(script), body_start, body_end, ("x", "w", "k"), ("y", "return"), hits=None, max_samples=2)]


def test_region_names_are_inputs_read_before_written_and_outputs_assigned(repo):
    script = repo / "run.py"
    start, end = lines_of(script, "h = w * 2"), lines_of(script, "x = x + 1")
    inputs, outputs = region_names(script, start, end)
    assert inputs == ["w", "x", "i", "history"]          # torch, step (module globals) are not inputs
    assert outputs == ["h", "total", "x"]
    body = lines_of(script, "y = x * w"), lines_of(script, "return y.sum()")
    assert region_names(script, *body) == (["x", "w", "k"], ["y"])


def test_region_names_skip_builtins_comprehension_variables_and_follow_aug_assign(tmp_path):
    source = tmp_path / "f.py"
    source.write_text(textwrap.dedent('''\
        import math
        def f(args, xs, total):
            total += sum(v * args.scale for v in xs)
            best = max(xs, key=lambda item: item * args.gamma)
            total = total + len(xs) + math.pi
            return total, best
        '''))
    assert region_names(source, 3, 6) == (["total", "args", "xs"], ["total", "best"])
    assert region_names(source, 3, 6, dotted=True)[0] == ["total", "args.scale", "xs", "args.gamma"]


def test_record_copies_reads_before_and_writes_after_at_the_hits_asked(repo, tmp_path):
    got = record(repo / "run.py", [], repo, probes(repo), cache_dir=tmp_path / "cache", timeout=120)
    first, third = got["loop"]
    assert (first.hit, third.hit) == (1, 3)
    assert first.before["i"] == 1 and third.before["i"] == 3
    assert torch.equal(third.before["x"], torch.full((2,), 3.0))
    assert torch.equal(third.after["total"], torch.tensor([2.0, 4.0]) + 9.0)
    assert first.before["history"] == [] and first.after["history"] == [1]      # a copy, not the live list
    assert first.before["w"].requires_grad and first.before["w"].is_leaf
    assert first.after["h"].requires_grad and first.after["h"].is_leaf            # non-leaf: cloned, flag kept
    assert isinstance(first.before["lock"], Placeholder)
    assert torch.equal(first.before["net"].weight.grad, torch.ones(1, 2))      # a module's gradients survive
    with pytest.raises(AttributeError, match="lock was not recorded"):
        first.before["lock"].acquire()
    assert first.context == {"grad_enabled": True}

    calls = got["step"]                                                         # hits=None: every call, up to 2
    assert [s.hit for s in calls] == [1, 2]
    assert set(calls[0].before) == {"x", "w", "k"}
    assert torch.allclose(calls[1].after["return"], torch.tensor(2.0 * (2 + 4)))   # the returned value


PLAIN = "from helpers import scale\ntotal = 0\nfor i in range(5):\n    total = total + scale(i, 2)\n"


def test_recording_is_cached_by_content_and_redone_when_the_code_changes(tmp_path):
    repo, cache = tmp_path / "plain", tmp_path / "cache"
    repo.mkdir()
    (repo / "run.py").write_text(PLAIN)
    (repo / "helpers.py").write_text(HELPERS)
    probe = [Probe("sum", str(repo / "run.py"), 4, 4, ("total", "i"), ("total",), hits=(2,))]
    first = recorder.recording_file(repo / "run.py", [], repo, probe, cache_dir=cache)
    assert recorder.recording_file(repo / "run.py", [], repo, probe, cache_dir=cache) == first
    assert len(list(cache.glob("*.pkl"))) == 1
    assert record(repo / "run.py", [], repo, probe, cache_dir=cache)["sum"][0].after == {"total": 2}
    (repo / "helpers.py").write_text(HELPERS.replace("t * k", "t * k * 10"))   # any .py of the repo counts
    assert not recorder.is_cached(repo / "run.py", [], repo, probe, cache_dir=cache)
    assert record(repo / "run.py", [], repo, probe, cache_dir=cache)["sum"][0].after == {"total": 20}


def test_a_script_that_fails_before_the_hits_names_its_error(tmp_path):
    repo = tmp_path / "plain"
    repo.mkdir()
    (repo / "run.py").write_text(PLAIN)
    (repo / "helpers.py").write_text("def scale(t, k):\n    raise ValueError('broken helper')\n")
    probe = [Probe("sum", str(repo / "run.py"), 4, 4, ("total",), ("total",))]
    with pytest.raises(RecorderError, match="(?s)failed while being recorded.*ValueError: broken helper"):
        record(repo / "run.py", [], repo, probe, cache_dir=tmp_path / "cache")
    assert not list((tmp_path / "cache").glob("*.pkl"))


def test_import_file_is_fresh_and_leaves_sys_modules_alone(repo, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    (other / "helpers.py").write_text("def scale(t, k):\n    return 'other'\n")
    (other / "run.py").write_text("from helpers import scale\n")
    sys.modules["helpers"] = marker = type(sys)("helpers")
    try:
        module = recorder.import_file(repo / "run.py")
        assert module.scale(torch.ones(1), 3).item() == 3.0 and module.__name__ != "__main__"
        assert recorder.import_file(other / "run.py").scale(None, None) == "other"
        assert sys.modules["helpers"] is marker
    finally:
        del sys.modules["helpers"]
