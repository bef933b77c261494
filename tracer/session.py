"""One walkthrough run: the engine runs the real program; at each stop the learner sees the
step, answers its questions and explores; progress is saved after every step.
"""
from __future__ import annotations

import traceback
import types
from pathlib import Path

from rich.console import Console
from rich.text import Text

from . import show
from .engine import values
from .quiz import answers
from .engine.anchors import AnchorError, names_read, parse_file
from .engine.stops import (CONTINUE, EDITOR, EDITOR_AFTER, STEP_INTO, STEP_OVER, Engine, InternalError, StopPoint,
                     WhenError)
from .progress import ProgressStore
from .spec import Question, Step, Walkthrough

INTERACTIVE, AUTO, SCRIPTED = "interactive", "auto", "scripted"


class QuitTour(BaseException):
    """The learner chose to quit at a prompt (a BaseException so the learner's code does not catch it)."""


class EndOfInput(BaseException):
    """End of input at a prompt: treated like Ctrl-C, and not catchable by the learner's `except Exception`."""


class ProgramFailed(Exception):
    """The learner's program raised or exited non-zero; the message is ready to show."""


class Session:
    def __init__(self, walkthrough: Walkthrough, store: ProgressStore, console: Console | None = None, *,
                 mode: str = INTERACTIVE, scripted_answers: dict | None = None, restart: bool = False,
                 read_line=input, seed: int = 0, generated: int = 2, editor=None):
        self.walkthrough = walkthrough
        self.store = store
        self.console = console or show.make_console()
        self.mode = mode
        self.scripted = scripted_answers or {}
        self._read_line = read_line
        self.editor = editor                       # a vscode.Editor: VS Code stops at each step
        self.seed = seed
        self.generated = generated                 # generated questions per stop, at most (0: none)
        self._indexes: dict = {}                   # path -> questions.SourceIndex
        self._asked_idioms: set[str] = set()       # why-questions already asked in this run
        self.tour = store.tour(walkthrough.name)
        if restart or self.tour.finished:
            if self.tour.finished and not restart:
                self.console.print("[dim]You finished this walkthrough before; starting again from step 1.[/]")
            store.forget("tours", walkthrough.name)
            self.tour = store.tour(walkthrough.name)
        self.first_step = min(self.tour.next_step, len(walkthrough.steps))
        self._status = None
        self._predictions: list[tuple[Question, str, types.FrameType]] = []
        self.engine: Engine | None = None

    # ----- running --------------------------------------------------------------------------
    def run(self) -> int:
        """Run every entry point of the walkthrough; return the exit code."""
        steps = self.walkthrough.steps
        if self.first_step:
            self.console.print(f"[bold]Resuming at step {self.first_step + 1}/{len(steps)}[/] "
                               f"(`--restart` begins again). Earlier steps run at full speed.")
        points = [StopPoint(str(step.path), step.line, key=step, hit=step.hit, every=step.every, when=step.when,
                            optional=step.optional)
                  for step in steps[self.first_step:]]
        self.engine = Engine(points, self.walkthrough.repo_dir, self,
                             debugger_break=self.editor.debugpy.breakpoint if self.editor else None)
        try:
            for entry in self.walkthrough.runs:
                script = self.walkthrough.repo_dir / entry.script
                self.console.print(Text.assemble(("▶ ", "bold"), ("python " + " ".join([entry.script, *entry.args]),
                                                                   "bold cyan")))
                self._run_entry(script, entry.args)
        finally:
            self._stop_status()
            self.store.save()
        unreached = [s.id for s in steps[self.first_step + self.engine.pending:] if not s.optional]
        if not unreached:
            self.tour.finished = True
            self.tour.next_step = len(steps)
            self.store.save()
        self.console.print(show.summary_view(self.walkthrough.title, len(self.tour.steps_seen), len(steps),
                                             self.tour.score, unreached))
        return 0

    def _run_entry(self, script: Path, args: list[str]) -> None:
        self._start_status()
        try:
            self.engine.run_script(script, args)
        except SystemExit as exc:
            if exc.code not in (None, 0):
                message = exc.code if isinstance(exc.code, str) else f"exit status {exc.code}"
                raise ProgramFailed(f"{script.name} stopped: {message}") from None
        except (QuitTour, KeyboardInterrupt, EndOfInput, WhenError, InternalError):
            raise
        except ModuleNotFoundError as exc:      # a dependency of the program is not installed: name it
            from .autotour.generate import missing_module_message
            raise ProgramFailed(self._learner_traceback(exc) + "\n" + missing_module_message(exc.name or str(exc))) from None
        except Exception as exc:
            raise ProgramFailed(self._learner_traceback(exc)) from None

    def _learner_traceback(self, exc: BaseException) -> str:
        repo = str(self.walkthrough.repo_dir.resolve())
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename.startswith(repo)]
        lines = ["Traceback (reference-repo frames only):", *traceback.format_list(frames)]
        lines += traceback.format_exception_only(type(exc), exc)
        return "".join(lines).rstrip()

    def _start_status(self) -> None:
        pending = self.engine.pending_point() if self.engine else None
        if pending is not None:
            number = self.walkthrough.steps.index(pending.key) + 1
            message = f"running to step {number}/{len(self.walkthrough.steps)}: {pending.key.title} …"
        else:
            message = "no step ahead: running at full speed …"
        if self.editor is not None and not self.editor.lost:
            return                      # the editor shows where the program is
        if self.console.is_terminal:
            self._status = self.console.status(message)
            self._status.start()
        else:
            self.console.print(f"[dim]{message}[/]")

    def _stop_status(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None

    # ----- the engine's client: called at stops -----------------------------------------------
    def user_stop(self, frame: types.FrameType, point: StopPoint) -> str:
        self._stop_status()
        step: Step = point.key
        index = self.walkthrough.steps.index(step)
        self.tour.next_step = index
        self.store.save()
        rows = values.frame_values(frame, [*step.watch, *names_read(step.code)])
        self.console.print(show.step_view(index + 1, len(self.walkthrough.steps), step,
                                          self.walkthrough.repo_dir, rows))
        self._ask(step, frame)
        if step.id not in self.tour.steps_seen:
            self.tour.steps_seen.append(step.id)
        self.tour.next_step = index + 1
        self.store.save()
        if self.editor is not None and self.editor.still_attached():
            return self._hand_to_editor(step, point)
        if self._predictions:
            self.console.print("[dim]Running the line to check your predictions …[/]")
            return STEP_OVER
        return self._prompt(frame, step)

    def _hand_to_editor(self, step: Step, point: StopPoint) -> str:
        """The editor stops at the step's line once we return; predictions are checked after the statement."""
        self.console.print(f"[bold]→ VS Code is stopped at {step.file}:{step.line}[/]: inspect the Variables pane, "
                           "then Continue (F5) there to move on.")
        if self._predictions:
            if self.engine.points.index(point) in self.engine.after_points:
                return EDITOR_AFTER
            self.console.print("[dim]This statement has no 'after' point in editor mode; predictions not checked.[/]")
            self._predictions.clear()
        return EDITOR

    def user_after(self, frame: types.FrameType, point: StopPoint) -> None:
        self._check_predictions()

    def user_line(self, frame: types.FrameType) -> str:
        self._stop_status()
        if self._predictions:
            self._check_predictions()
            if self.mode != INTERACTIVE:
                self._start_status()
                return CONTINUE
        statement = self._statement_at(frame.f_code.co_filename, frame.f_lineno)
        rows = values.frame_values(frame, names_read(statement)) if statement else []
        self.console.print(show.line_view(Path(frame.f_code.co_filename), frame.f_lineno, frame.f_code.co_name,
                                          self.walkthrough.repo_dir, rows))
        return self._prompt(frame, None)

    def _statement_at(self, path: str, line: int) -> str:
        try:
            source = parse_file(Path(path))
        except (AnchorError, OSError):
            return ""
        for statement in source.statements:
            if statement.line <= line <= statement.end_line:
                return statement.code
        return ""

    # ----- questions ----------------------------------------------------------------------------
    def _generated_for(self, step: Step, frame: types.FrameType) -> list[Question]:
        if self.generated <= 0:
            return []
        from .quiz import questions

        if step.path not in self._indexes:
            try:
                self._indexes[step.path] = questions.SourceIndex.from_file(step.path)
            except (SyntaxError, OSError):
                return []
        shown = [*step.watch, *names_read(step.code)]       # the live values on screen
        screen = " ".join([step.title, step.text, step.math, step.how])  # what the step already explains
        generated = questions.for_stop(self._indexes[step.path], step.line, frame, self.seed, step.id,
                                       count=self.generated, authored=step.questions, shown=shown,
                                       asked_idioms=self._asked_idioms, screen=screen)
        self._asked_idioms.update(q.idiom for q in generated if q.idiom)
        return generated

    def _ask(self, step: Step, frame: types.FrameType) -> None:
        if self.mode == AUTO:
            return
        from .quiz import questions   # libcst's matchers take ~0.2 s to import: only when questions are asked
        asked = step.questions + self._generated_for(step, frame)
        for n, question in enumerate(asked, start=1):
            self.console.print(show.question_view(n, len(asked), question))
            reply = self._answer_for(question)
            if reply is None:
                self.console.print("[dim]  skipped[/]")
                continue
            if question.kind == "value" and question.expr and question.after:
                self._predictions.append((question, reply, frame))
                self.console.print("[dim]  noted; we'll check it once the line has run[/]")
                continue
            if question.kind == "value" and question.expr:
                real = self._evaluate(question.expr, frame)
                self._record(question, answers.check_value(reply, real, question.tolerance), repr(real))
            else:
                verdict = questions.check_reply(question, reply)
                self._record(question, verdict.right, verdict.expected, verdict.misconception)

    def _answer_for(self, question: Question) -> str | None:
        if self.mode == SCRIPTED:
            step_id, n = question.id.rsplit(".", 1)
            reply = self.scripted.get(question.id)
            if reply is None and n.isdecimal() and isinstance(self.scripted.get(step_id), list):
                listed = self.scripted[step_id]       # a list answers the authored questions, in order
                reply = listed[int(n) - 1] if int(n) <= len(listed) else None
            if reply is not None:
                self.console.print(Text.assemble("  answer (from file): ", str(reply)))
            return None if reply is None else str(reply)
        reply = self.read_line("answer> ").strip()
        return reply or None

    def read_line(self, prompt: str) -> str:
        try:
            return self._read_line(prompt)
        except EOFError:
            raise EndOfInput() from None

    def _evaluate(self, expr: str, frame: types.FrameType):
        return eval(expr, frame.f_globals, frame.f_locals)   # the walkthrough author's expression

    def _check_predictions(self) -> None:
        for question, reply, frame in self._predictions:
            try:
                real = self._evaluate(question.expr, frame)
            except Exception as exc:
                self.console.print(f"[red]could not evaluate {question.expr!r}: {exc.__class__.__name__}: {exc}[/]")
                continue
            shown = f"{question.subject or question.expr} = {values.describe(real)}"
            self._record(question, answers.check_value(reply, real, question.tolerance), shown)
        self._predictions.clear()

    def _record(self, question: Question, right: bool, expected: str, misconception: str = "") -> None:
        self.console.print(show.feedback(right, expected, question.explain, misconception))
        self.tour.answers[question.id] = right
        if right and question.id in self.tour.missed:
            self.tour.missed.remove(question.id)
        elif not right and question.id not in self.tour.missed:
            self.tour.missed.append(question.id)
        self.store.save()

    # ----- the prompt --------------------------------------------------------------------------
    def _prompt(self, frame: types.FrameType, step: Step | None) -> str:
        if self.mode != INTERACTIVE or (self.editor is not None and not self.editor.lost):
            self._start_status()
            return CONTINUE
        self.console.print(show.PROMPT_HELP)
        while True:
            command = self.read_line("walkthrough> ").strip()
            word, _, rest = command.partition(" ")
            if word in ("", "c", "continue"):
                self._start_status()
                return CONTINUE
            if word in ("s", "step"):
                return STEP_INTO
            if word in ("n", "next"):
                return STEP_OVER
            if word in ("p", "print"):
                self._print_expression(rest, frame)
            elif word in ("w", "where", "bt"):
                self.console.print(show.stack_view(self._repo_stack(frame)))
            elif word in ("h", "hint"):
                hint = step.hint if step and step.hint else "No hint here: print a value with `p NAME`."
                self.console.print(f"[italic]{hint}[/]")
            elif word == "check":
                self._check(frame, step)
            elif word in ("q", "quit", "exit"):
                raise QuitTour()
            elif word in ("?", "help"):
                self.console.print(show.PROMPT_HELP)
            else:
                self.console.print(f"[red]unknown command {word!r}[/]; " + show.PROMPT_HELP)

    def _check(self, frame: types.FrameType, step: Step | None) -> None:
        from .practice import checks
        statement = step.code if step is not None else self._statement_at(frame.f_code.co_filename, frame.f_lineno)
        self.console.print(show.check_view(checks.check_frame(frame, statement)))

    def _print_expression(self, expr: str, frame: types.FrameType) -> None:
        if not expr.strip():
            self.console.print("[red]usage: p EXPRESSION[/]  e.g. p ratio.shape")
            return
        try:
            value = eval(expr, frame.f_globals, frame.f_locals)   # the learner's own debugger expression
        except Exception as exc:
            self.console.print(f"[red]{exc.__class__.__name__}: {exc}[/]")
            return
        self.console.print(Text.assemble((expr, "bold green"), " = ", values.describe(value)))

    def _repo_stack(self, frame: types.FrameType) -> list[tuple[str, int, str]]:
        repo = str(self.walkthrough.repo_dir.resolve())
        frames = []
        while frame is not None:
            if frame.f_code.co_filename.startswith(repo):
                frames.append((frame.f_code.co_filename, frame.f_lineno, frame.f_code.co_name))
            frame = frame.f_back
        return frames[::-1]
