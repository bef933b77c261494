"""A minimal Debug Adapter Protocol client: JSON messages framed by Content-Length over a socket."""
import json
import socket
import time


class DAPClient:
    def __init__(self, host, port, timeout=60.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buffer = b""
        self.seq = 0
        self.timeout = timeout
        self.events = []

    def send(self, command, **arguments):
        self.seq += 1
        body = json.dumps({"seq": self.seq, "type": "request", "command": command, "arguments": arguments}).encode()
        self.sock.sendall(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        return self.seq

    def _read(self):
        while b"\r\n\r\n" not in self.buffer:
            self._fill()
        header, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        length = int(next(line.split(b":")[1] for line in header.split(b"\r\n")
                          if line.lower().startswith(b"content-length")))
        while len(self.buffer) < length:
            self._fill()
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        return json.loads(body)

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("the debug adapter closed the connection")
        self.buffer += chunk

    def wait(self, predicate, what):
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            message = self._read()
            if message.get("type") == "event":
                self.events.append(message)
            if predicate(message):
                return message
        raise TimeoutError(f"no {what} within {self.timeout} s")

    def response(self, seq):
        message = self.wait(lambda m: m.get("type") == "response" and m.get("request_seq") == seq, f"response {seq}")
        assert message["success"], message
        return message

    def request(self, command, **arguments):
        return self.response(self.send(command, **arguments)).get("body", {})

    def close(self):
        self.sock.close()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def connect(port, proc, timeout=30):
    """Connect to debugpy's adapter once `proc` listens on `port`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            return DAPClient("127.0.0.1", port)
        except OSError:
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else f"exited {proc.returncode}"
            time.sleep(0.1)
    raise TimeoutError("debugpy never listened")


def attach(client, breakpoints=None):
    """The handshake VS Code does for our 'walkthrough: attach' configuration (as `walkthrough vscode` writes
    it); `breakpoints` {path: [line, ...]} are the learner's, set before configurationDone as VS Code does."""
    from tracer.vscode import launch_configurations

    configuration = {k: v for k, v in launch_configurations("tour", "127.0.0.1", 0)[0].items() if k != "connect"}
    client.request("initialize", clientID="walkthrough-tests", adapterID="debugpy", pathFormat="path",
                   linesStartAt1=True, columnsStartAt1=True)
    attach_seq = client.send("attach", **configuration)
    client.wait(lambda m: m.get("event") == "initialized", "initialized")
    for path, lines in (breakpoints or {}).items():
        set_breakpoints(client, path, lines)
    client.request("setExceptionBreakpoints", filters=["uncaught"])      # VS Code's default
    client.request("configurationDone")
    client.response(attach_seq)


def set_breakpoints(client, path, lines):
    """What VS Code sends when the learner clicks in the gutter: all of one file's breakpoints at once."""
    body = client.request("setBreakpoints", source={"path": str(path)}, breakpoints=[{"line": n} for n in lines])
    return body["breakpoints"]


def next_stop(client):
    """The next 'stopped' event, or None when the program ended."""
    message = client.wait(lambda m: m.get("type") == "event" and m.get("event") in ("stopped", "terminated"),
                          "stopped event")
    return message if message["event"] == "stopped" else None


def top_frame(client, stopped):
    return client.request("stackTrace", threadId=stopped["body"]["threadId"], startFrame=0, levels=20)["stackFrames"][0]
