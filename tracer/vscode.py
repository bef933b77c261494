"""VS Code through debugpy: the editor stops at every step, the terminal explains and asks.

How it works on Python 3.11 and on 3.12+ alike:
* debugpy runs its own tracer (settrace on 3.11, sys.monitoring on 3.12+). We never install
  ours beside it: on 3.11 a second settrace tracer would replace the debugger's.
* Each step's gate is compiled into the learner's file one line before the step's statement as
  `if __walkthrough_stop__(k): __walkthrough_break__()`: the learner's own frame calls
  debugpy.breakpoint() (ordinary code, not a trace callback), and debugpy stops at that frame's
  next line event, which is the step's statement.
* Predictions about a line are checked by a second compiled gate right after the statement.
* Between steps the program runs at full speed: on 3.11 the gates also switch debugpy's tracing of
  the thread off, and on again while the learner has breakpoints, steps or pauses (TracingSwitch).
"""
from __future__ import annotations

import errno
import json
import os
import re
import signal
import socket
import sys
import threading
import time
from pathlib import Path

TRACER_DIR = str(Path(__file__).resolve().parent)
LOOPBACK = ("127.0.0.1", "localhost", "::1")


class VSCodeError(Exception):
    """The editor link could not be set up; the message says what to do."""


def check_port_free(host: str, port: int) -> None:
    """Say clearly what is wrong with host:port before debugpy tries: a bad port, a name that does not
    resolve, an address not on this machine, a port in use."""
    if not 1 <= port <= 65535:
        raise VSCodeError(f"{port} is not a port number: choose one from 1 to 65535 with --port N")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, ValueError) as exc:
        raise VSCodeError(f"--host {host[:80]!r}: no such address ({getattr(exc, 'strerror', None) or exc}); use "
                          "127.0.0.1 (this machine only) or an address of this machine") from None
    family, _, _, _, address = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise VSCodeError(f"port {port} on {host} is in use ({exc.strerror}); choose another with --port N "
                                  f"(and the same port in .vscode/launch.json: walkthrough vscode --port N)") from None
            raise VSCodeError(f"cannot listen on {host}:{port} ({exc.strerror}); use --host 127.0.0.1, or a port "
                              "above 1023 (lower ones need administrator rights)") from None


class Editor:
    """A debugpy adapter the editor attaches to."""

    def __init__(self, host: str, port: int, console):
        self.host, self.port, self.console = host, port, console
        self.debugpy = None
        self.lost = False
        self.closed = False
        self.always_trace = False          # --always-trace: never switch debugpy's tracing off between steps

    def listen(self, wait_seconds: float) -> None:
        check_port_free(self.host, self.port)
        os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")   # no frozen-modules warning at start
        import debugpy

        self.debugpy = debugpy
        try:
            debugpy.listen((self.host, self.port))
        except Exception as exc:  # the adapter process could not start or bind
            raise VSCodeError(f"debugpy could not listen on {self.host}:{self.port}: {exc}") from None
        from rich.text import Text

        self.console.print(Text.assemble(
            (f"Waiting for VS Code on {self.host}:{self.port}", "bold"), f" (up to {wait_seconds:.0f} s).\n",
            "In VS Code: Run and Debug → ", ("walkthrough: attach", "bold"), " (write it with `walkthrough vscode`), "
            f"or any Python 'attach' configuration with connect {{host: {self.host}, port: {self.port}}}."))
        deadline = time.monotonic() + wait_seconds
        while not debugpy.is_client_connected():
            if time.monotonic() > deadline:
                raise VSCodeError(f"no editor attached to {self.host}:{self.port} within {wait_seconds:.0f} s; "
                                  "start the attach configuration in VS Code first, or wait longer with --wait S")
            time.sleep(0.05)
        self.console.print("[green]VS Code attached.[/] At each step: read and answer here, then look at the "
                           "Variables pane in VS Code and press Continue (F5) there to move on.")
        _send_without_delay()

    def close(self) -> None:
        """End the editor's debug session, or stop debugpy's adapter if no editor is attached. The adapter is a
        separate process that outlives us by design; left alone after something other than an editor connected
        (a port scanner, a stale client), it would keep listening on the port, and holding our output pipe, after
        we exit. Called once the program is over and again on the way out: only the first call acts (a second
        one would find the session ended and stop the adapter before it tells the editor)."""
        if self.debugpy is None or self.closed:
            return
        self.closed = True
        try:
            if self.debugpy.is_client_connected():
                self._end_debug_session()     # the editor's session ends the adapter when we exit
                return
        except Exception:
            pass
        pid = _listening_pid(self.port)
        if pid is not None and pid != os.getpid() and _is_debugpy_adapter(pid):
            try:
                os.kill(pid, signal.SIGTERM)
            except OSError:
                pass

    def connected(self) -> bool:
        return self.debugpy is not None and self.debugpy.is_client_connected()

    def still_attached(self) -> bool:
        """Is the editor there to stop in? Says once, in the terminal, when it has gone."""
        if self.connected():
            return True
        if not self.lost:
            self.lost = True
            self.console.print("[yellow]VS Code disconnected: the walkthrough goes on in the terminal.[/]")
        return False

    def _end_debug_session(self) -> None:
        """End the debug session once the program is over: the editor shows it ended, and the process exits at
        once. (Left to itself, pydevd ends it as the process exits and waits about 0.7 s for its own threads,
        two of which wait for each other until a 0.5 s timeout; the call is private, skipped if absent.)"""
        pydevd = sys.modules.get("pydevd")
        try:
            pydevd.get_global_debugger().dispose_and_kill_all_pydevd_threads(wait=False)
        except AttributeError:
            pass

    def tracing_switch(self):
        """The engine's `debugger_settle`: debugpy's tracing off between steps unless the learner needs it."""
        switch = None if self.always_trace else TracingSwitch.attach(self)
        return switch.settle if switch is not None else None


def _send_without_delay() -> None:
    """Turn Nagle's algorithm off on pydevd's socket to debugpy's adapter (a private attribute; skipped if absent).
    pydevd sends each message with one write, and at a Continue it writes two at once (the 'continued' event,
    then the response) and, a few milliseconds later, the next step's 'stopped': with Nagle's algorithm the
    later ones wait for the adapter's delayed ACK, about 40 ms at every step."""
    pydevd = sys.modules.get("pydevd")
    try:
        pydevd.get_global_debugger().writer.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except (AttributeError, OSError):
        pass


class TracingSwitch:
    """Between steps, the training thread runs with no debugger tracing, unless the learner needs it.

    On Python 3.11 debugpy (pydevd) traces with sys.settrace: any installed trace function slows every
    Python call. walkthrough does not need it to stop at a step: debugpy.breakpoint() turns tracing on
    for the thread and the learner's frame itself. So `settle`, called on the program's thread before it
    runs and at every compiled gate, switches the thread's tracing with debugpy.trace_this_thread:
      off, when the editor has no breakpoint of the learner's and the thread is not stepping or pausing;
      on,  when it has (line, function, or raised/user-uncaught exception breakpoints), or while the
           learner steps (F10/F11) or pauses in the editor, so that these work as in any debug session.
    A breakpoint added while the program runs untraced takes effect at the next gate. To know the editor's
    breakpoints it reads pydevd's own state (no public API; checked against the pinned debugpy): `mtime`,
    raised whenever breakpoints change, the breakpoint tables, and the thread's step command.
    On 3.12+ debugpy uses sys.monitoring, where an untraced thread is slower, not faster (pydevd's
    callbacks then return without disabling their events), and an idle debugger costs little: there we
    leave tracing alone (`attach` returns None).
    """

    STATE = ("mtime", "breakpoints", "function_breakpoint_name_to_breakpoint", "break_on_caught_exceptions",
             "break_on_user_uncaught_exceptions")     # what it reads of pydevd's PyDB

    def __init__(self, editor: Editor, py_db):
        self.editor = editor
        self.py_db = py_db
        self.seen_mtime = -1
        self.breakpoints = False          # does the editor hold breakpoints of the learner's?

    @classmethod
    def attach(cls, editor: Editor) -> TracingSwitch | None:
        pydevd = sys.modules.get("pydevd")
        constants = sys.modules.get("_pydevd_bundle.pydevd_constants")
        if pydevd is None or constants is None or getattr(constants, "PYDEVD_USE_SYS_MONITORING", True):
            return None
        py_db = pydevd.get_global_debugger()
        if py_db is None or not all(hasattr(py_db, name) for name in cls.STATE):
            return None                   # another pydevd: keep debugpy's tracing on, as without this switch
        return cls(editor, py_db)

    def settle(self) -> None:
        if self.editor.lost:
            return                        # the terminal may be stepping with a tracer of ours: leave it be
        py_db = self.py_db
        if py_db.mtime != self.seen_mtime:
            self.seen_mtime = py_db.mtime
            self._breakpoints_changed()
        info = getattr(threading.current_thread(), "additional_info", None)   # pydevd's, per thread
        wanted = self.breakpoints or (info is not None and info.pydev_step_cmd != -1)   # stepping or pausing
        if wanted != (sys.gettrace() is not None):
            self.editor.debugpy.trace_this_thread(wanted)

    def _breakpoints_changed(self) -> None:
        py_db = self.py_db
        now = bool(any(py_db.breakpoints.values()) or py_db.function_breakpoint_name_to_breakpoint
                   or py_db.break_on_caught_exceptions or py_db.break_on_user_uncaught_exceptions)
        if now and not self.breakpoints:
            self.editor.console.print("[yellow]VS Code breakpoints are set:[/] between steps the program now runs "
                                      "traced by the debugger so that they are hit (slower). Remove them all to run "
                                      "at full speed again. A breakpoint added while the program runs takes effect "
                                      "the next time it passes a step's line (start with --always-trace to have it hit at "
                                      "once, at the old speed).")
        elif self.breakpoints and not now:
            self.editor.console.print("[dim]No VS Code breakpoints left: full speed between steps again.[/]")
        self.breakpoints = now


def _listening_pid(port: int) -> int | None:
    """The process listening on TCP `port` (Linux /proc; None elsewhere or if not found)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    fields = line.split()
                    if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:   # 0A: LISTEN
                        inodes.add(fields[9])
        except (OSError, StopIteration, IndexError, ValueError):
            continue
    if not inodes:
        return None
    wanted = {f"socket:[{inode}]" for inode in inodes}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            for fd in os.scandir(f"/proc/{entry.name}/fd"):
                if os.readlink(fd.path) in wanted:
                    return int(entry.name)
        except OSError:
            continue
    return None


def _is_debugpy_adapter(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmdline = f.read().decode(errors="replace")
    except OSError:
        return False
    return "debugpy" in cmdline and "adapter" in cmdline


# ----- .vscode/launch.json --------------------------------------------------------------------------------
def _strip_jsonc(text: str) -> str:
    """JSON-with-comments as VS Code reads it -> JSON: drop // and /* */ comments and trailing commas."""
    out, i, n = [], 0, len(text)
    while i < n:
        ch = text[i]
        if ch == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append(text[i:j + 1])
            i = j + 1
        elif text.startswith("//", i):
            i = text.find("\n", i) if "\n" in text[i:] else n
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = n if end < 0 else end + 2
        else:
            out.append(ch)
            i += 1
    return re.sub(r",(\s*[}\]])", r"\1", "".join(out))


def launch_configurations(name: str, host: str, port: int) -> list[dict]:
    # walkthrough's own frames are not the learner's code: the editor neither shows them nor pauses or steps in them
    ours = [{"path": TRACER_DIR + "/**", "include": False}]
    return [
        {"name": "walkthrough: attach", "type": "debugpy", "request": "attach",
         "connect": {"host": host, "port": port}, "justMyCode": True, "rules": ours},
        {"name": f"walkthrough: start {name}", "type": "debugpy", "request": "launch", "module": "tracer",
         "args": ["start", name, "--vscode", "--port", str(port)], "console": "integratedTerminal",
         "justMyCode": True, "subProcess": False, "rules": ours},
    ]


def write_launch_json(directory: Path, name: str, host: str, port: int) -> tuple[Path, list[str]]:
    """Merge our configurations into .vscode/launch.json, replacing only ours (matched by name)."""
    folder = Path(directory) / ".vscode"
    path = folder / "launch.json"
    notes = []
    data = {"version": "0.2.0", "configurations": []}
    if folder.exists() and not folder.is_dir():
        raise VSCodeError(f"{folder} is a file, not a folder; VS Code keeps its settings in a folder of that name: "
                          "move the file away, or choose another folder with --dir")
    if path.exists() and not path.is_file():
        raise VSCodeError(f"{path} is not a file; move it away and run `walkthrough vscode` again")
    if path.exists():
        from .datafile import DataFileError, read_text
        try:
            text = read_text(path, "launch.json", encoding="utf-8-sig")
        except DataFileError as exc:
            raise VSCodeError(f"{exc}; fix or move it, then run `walkthrough vscode` again") from None
        try:
            data = json.loads(_strip_jsonc(text)) if text.strip() else data
        except json.JSONDecodeError as exc:
            raise VSCodeError(f"{path}:{exc.lineno}: not valid JSON-with-comments ({exc.msg}); fix or move it, "
                              "then run `walkthrough vscode` again") from None
        except (RecursionError, ValueError):
            raise VSCodeError(f"{path}: nested too deeply (or numbers too long) to be a launch.json; fix or move "
                              "it, then run `walkthrough vscode` again") from None
        if not isinstance(data, dict) or not isinstance(data.get("configurations", []), list):
            raise VSCodeError(f"{path}: expected an object with a 'configurations' list")
        if _strip_jsonc(text) != text:
            backup = path.with_suffix(".json.bak")
            try:
                backup.write_text(text, encoding="utf-8")
            except OSError as exc:
                raise VSCodeError(f"cannot keep a copy of your commented {path} as {backup} ({exc.strerror}); "
                                  "nothing was changed") from None
            notes.append(f"your comments are kept in {backup} (the merged file is plain JSON)")
    ours = launch_configurations(name, host, port)
    names = {c["name"] for c in ours}
    kept = [c for c in data.get("configurations", []) if not (isinstance(c, dict) and c.get("name") in names)]
    data["configurations"] = kept + ours
    data.setdefault("version", "0.2.0")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(data, indent=4) + "\n", encoding="utf-8")
        tmp.replace(path)
    except OSError as exc:
        raise VSCodeError(f"cannot write {path} ({exc.strerror}); choose a writable folder with --dir") from None
    return path, notes
