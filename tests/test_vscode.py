"""VS Code mode, tested with a real Debug Adapter Protocol client talking to debugpy over its socket."""
import json
import os
import socket
import subprocess
import time

import pytest

from conftest import ROOT, WALKTHROUGH, walkthrough
from dap import DAPClient
from tracer import spec


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(state_dir, port, *extra):
    env = {**os.environ, "WALKTHROUGH_STATE_DIR": str(state_dir), "NO_COLOR": "1", "COLUMNS": "120"}
    return subprocess.Popen([str(WALKTHROUGH), "start", "mlp", "--vscode", "--auto", "--restart", "--port", str(port),
                             "--wait", "60", *extra], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, cwd=ROOT)


def connect(port, proc, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            return DAPClient("127.0.0.1", port)
        except OSError:
            assert proc.poll() is None, proc.stdout.read()
            time.sleep(0.1)
    raise TimeoutError("debugpy never listened")


def attach(client):
    client.request("initialize", clientID="walkthrough-tests", adapterID="debugpy", pathFormat="path",
                   linesStartAt1=True, columnsStartAt1=True)
    attach_seq = client.send("attach", name="walkthrough: attach", type="debugpy", request="attach", justMyCode=True)
    client.wait(lambda m: m.get("event") == "initialized", "initialized")
    client.request("configurationDone")
    client.response(attach_seq)


def next_stop(client):
    message = client.wait(lambda m: m.get("type") == "event" and m.get("event") in ("stopped", "terminated"),
                          "stopped event")
    return message if message["event"] == "stopped" else None


def test_editor_stops_at_every_step_with_the_frame_variables(state_dir):
    walk = spec.load(spec.find("mlp"))
    port = free_port()
    proc = start(state_dir, port)
    client = connect(port, proc)
    seen = []
    try:
        attach(client)
        steps = [s for s in walk.steps if not s.id.startswith("squared-error")]   # regression only: skipped
        for step in steps:
            stopped = next_stop(client)
            assert stopped is not None, f"no stop for step {step.id}"
            thread = stopped["body"]["threadId"]
            top = client.request("stackTrace", threadId=thread, startFrame=0, levels=20)["stackFrames"][0]
            assert (os.path.realpath(top["source"]["path"]), top["line"]) == (str(step.path), step.line), step.id
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
