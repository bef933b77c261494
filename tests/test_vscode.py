"""VS Code mode, tested with a real Debug Adapter Protocol client talking to debugpy over its socket."""
import json
import os
import socket
import subprocess
import time

import pytest

from conftest import ROOT, WALKTHROUGH, walkthrough
from dap import attach, connect, free_port, next_stop, set_breakpoints, top_frame
from tracer import spec
from tracer.vscode import TRACER_DIR


def start(state_dir, port, *extra, target="mlp", mode=("--auto",)):
    env = {**os.environ, "WALKTHROUGH_STATE_DIR": str(state_dir), "NO_COLOR": "1", "COLUMNS": "120"}
    return subprocess.Popen([str(WALKTHROUGH), "start", str(target), "--vscode", *mode, "--restart", "--port", str(port),
                             "--wait", "60", *extra], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, cwd=ROOT)


def test_editor_stops_at_every_step_with_the_frame_variables(state_dir, tmp_path):
    walk = spec.load(spec.find("mlp"))
    answers = tmp_path / "answers.toml"
    answers.write_text('standardize = ["(960, 2)"]\n')      # a prediction: x_train.shape after the line
    port = free_port()
    proc = start(state_dir, port, "--generated", "0", mode=("--answers", str(answers)))
    client = connect(port, proc)
    seen = []
    try:
        attach(client)
        steps = [s for s in walk.steps if not s.id.startswith("squared-error")]   # regression only: skipped
        for step in steps:
            stopped = next_stop(client)
            assert stopped is not None, f"no stop for step {step.id}"
            thread = stopped["body"]["threadId"]
            frames = client.request("stackTrace", threadId=thread, startFrame=0, levels=20)["stackFrames"]
            top = frames[0]
            assert (os.path.realpath(top["source"]["path"]), top["line"]) == (str(step.path), step.line), step.id
            assert not [f for f in frames if f.get("source", {}).get("path", "").startswith(TRACER_DIR)], step.id
            scopes = client.request("scopes", frameId=top["id"])["scopes"]
            local = next(s for s in scopes if s["name"].lower().startswith("locals"))
            names = {v["name"] for v in client.request("variables", variablesReference=local["variablesReference"])
                     ["variables"]}
            for watched in step.watch:
                assert watched.split(".")[0] in names, (step.id, watched, sorted(names))
            seen.append(step.id)
            client.send("continue", threadId=thread)
        assert next_stop(client) is None                  # no stop after the last step
    finally:
        client.close()
        out, _ = proc.communicate(timeout=120)
    assert seen == [s.id for s in steps]
    assert proc.returncode == 0, out
    assert "test accuracy" in out                        # eval.py ran to the end
    noted = out.index("noted; we'll check it once the line has run")
    assert "x_train.shape = torch.Size([" in out[noted:]  # checked, with the value the line computed


# Steps at `total = ` (first call) and `done = `; each print line says whether a debugger traces the thread.
PROBE = """\
import sys


def work(i):
    total = i * 2
    return total


print("before the steps:", "traced" if sys.gettrace() else "untraced", flush=True)
for i in range(4):
    work(i)
    print(f"iteration {i}:", "traced" if sys.gettrace() else "untraced", flush=True)
done = True
"""


@pytest.fixture
def probe(tmp_path):
    script = tmp_path / "probe.py"
    script.write_text(PROBE)
    lines = PROBE.splitlines()
    where = {key: next(n for n, text in enumerate(lines, start=1) if text.lstrip().startswith(key))
             for key in ("total = ", "return total", 'print("before', 'print(f"iteration', "done = ")}
    return script, where


def start_probe(state_dir, script, *extra):
    port = free_port()
    proc = start(state_dir, port, "--break", "probe.py:total = ", "--break", "probe.py:done = ", *extra, target=script)
    return proc, connect(port, proc)


def printed_states(out):
    return [line for line in out.splitlines() if line.startswith(("before the steps", "iteration"))]


def stop_line(client, reason):
    stopped = next_stop(client)
    assert stopped is not None and stopped["body"]["reason"] == reason, stopped
    return stopped["body"]["threadId"], top_frame(client, stopped)


def test_between_steps_no_tracing_yet_a_breakpoint_set_at_a_step_is_hit(state_dir, probe):
    script, where = probe
    proc, client = start_probe(state_dir, script)
    try:
        attach(client)
        thread, top = stop_line(client, "breakpoint")                       # step 1, with the frame's locals
        assert (os.path.realpath(top["source"]["path"]), top["line"]) == (str(script), where["total = "])
        local = next(s for s in client.request("scopes", frameId=top["id"])["scopes"]
                     if s["name"].lower().startswith("locals"))
        assert "i" in {v["name"] for v in client.request("variables", variablesReference=local["variablesReference"])
                       ["variables"]}
        client.send("next", threadId=thread)                                 # F10 from a step still steps
        thread, top = stop_line(client, "step")
        assert top["line"] == where["return total"]
        assert set_breakpoints(client, script, [where['print(f"iteration']])[0]["verified"]
        client.send("continue", threadId=thread)
        thread, top = stop_line(client, "breakpoint")                        # the learner's breakpoint is hit
        assert top["line"] == where['print(f"iteration']
        set_breakpoints(client, script, [])                                  # and removed: full speed again
        client.send("continue", threadId=thread)
        thread, top = stop_line(client, "breakpoint")                        # step 2
        assert top["line"] == where["done = "]
        client.send("continue", threadId=thread)
        assert next_stop(client) is None
    finally:
        client.close()
        out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out
    assert printed_states(out) == ["before the steps: untraced", "iteration 0: traced", "iteration 1: untraced",
                                   "iteration 2: untraced", "iteration 3: untraced"], out


def test_breakpoints_set_when_attaching_are_hit_before_the_first_step(state_dir, probe):
    script, where = probe
    proc, client = start_probe(state_dir, script)
    try:
        attach(client, breakpoints={script: [where['print("before']]})
        lines = []
        while (stopped := next_stop(client)) is not None:
            lines.append(top_frame(client, stopped)["line"])
            if len(lines) == 1:
                set_breakpoints(client, script, [])            # removed at its first hit
            client.send("continue", threadId=stopped["body"]["threadId"])
    finally:
        client.close()
        out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out
    assert lines == [where['print("before'], where["total = "], where["done = "]]
    assert printed_states(out) == ["before the steps: traced", "iteration 0: untraced", "iteration 1: untraced",
                                   "iteration 2: untraced", "iteration 3: untraced"], out
    said = " ".join(out.split())                                 # the terminal says what breakpoints cost
    assert said.index("VS Code breakpoints are set") < said.index("No VS Code breakpoints left"), said


def test_always_trace_keeps_the_debugger_tracing_between_steps(state_dir, probe):
    script, where = probe
    proc, client = start_probe(state_dir, script, "--always-trace")
    try:
        attach(client)
        lines = []
        while (stopped := next_stop(client)) is not None:
            lines.append(top_frame(client, stopped)["line"])
            client.send("continue", threadId=stopped["body"]["threadId"])
    finally:
        client.close()
        out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out
    assert lines == [where["total = "], where["done = "]]
    assert printed_states(out) == ["before the steps: traced"] + [f"iteration {i}: traced" for i in range(4)], out


def test_always_trace_without_vscode_is_a_clear_error(state_dir):
    proc = walkthrough("start", "mlp", "--always-trace", state_dir=state_dir, timeout=60)
    assert proc.returncode == 2 and "--always-trace goes with --vscode" in proc.stdout + proc.stderr


def test_port_in_use_is_a_clear_error(state_dir):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = walkthrough("start", "mlp", "--vscode", "--port", port, state_dir=state_dir, timeout=60)
    assert proc.returncode == 2
    assert f"port {port} on 127.0.0.1 is in use" in proc.stdout and "--port" in proc.stdout


def test_no_editor_within_the_timeout_exits_clearly(state_dir):
    proc = walkthrough("start", "mlp", "--vscode", "--port", free_port(), "--wait", "1", state_dir=state_dir,
                       timeout=60)
    assert proc.returncode == 2 and "no editor attached" in " ".join(proc.stdout.split())


def test_editor_disconnect_mid_walk_goes_on_in_the_terminal(state_dir):
    port = free_port()
    proc = start(state_dir, port)
    client = connect(port, proc)
    attach(client)
    assert next_stop(client) is not None
    client.request("disconnect", terminateDebuggee=False)
    client.close()
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, out
    assert "VS Code disconnected" in out and "steps seen: 14/16" in out


def test_launch_json_merges_without_clobbering(tmp_path, state_dir):
    vscode = tmp_path / ".vscode"
    vscode.mkdir()
    (vscode / "launch.json").write_text('{\n  // mine\n  "version": "0.2.0",\n  "configurations": [\n'
                                        '    {"name": "my app", "type": "debugpy", "request": "launch", "program": "a.py"},\n'
                                        '  ]\n}\n')
    for _ in range(2):                                   # running twice must not duplicate ours
        proc = walkthrough("vscode", "mlp", "--port", "6000", "--dir", tmp_path, state_dir=state_dir)
        assert proc.returncode == 0, proc.stdout
    data = json.loads((vscode / "launch.json").read_text())
    names = [c["name"] for c in data["configurations"]]
    assert names == ["my app", "walkthrough: attach", "walkthrough: start mlp"]
    assert data["configurations"][1]["connect"] == {"host": "127.0.0.1", "port": 6000}
    assert "// mine" in (vscode / "launch.json.bak").read_text()
