"""One walkthrough run: the engine runs the real program; at each stop the learner sees the
step, answers its questions and explores; progress is saved after every step.
"""
from __future__ import annotations

import time
import traceback
import types
from pathlib import Path

from rich.console import Console
from rich.text import Text

from . import review, show
from .commands import output_closed
from .engine import values
from .quiz import answers
from .engine.anchors import AnchorError, parse_file
from .engine.stops import (CONTINUE, EDITOR, EDITOR_AFTER, STEP_INTO, STEP_OVER, Engine, InternalError, StopPoint,
                     WhenError)
from .progress import ProgressError, ProgressStore
from .spec import Question, Step, Walkthrough

INTERACTIVE, AUTO, SCRIPTED = "interactive", "auto", "scripted"


class QuitTour(BaseException):
    """The learner chose to quit at a prompt (a BaseException so the learner's code does not catch it)."""


class EndOfInput(BaseException):
    """End of input at a prompt: treated like Ctrl-C, and not catchable by the learner's `except Exception`."""


class ProgramFailed(Exception):
    """The learner's program raised or exited non-zero; the message is ready to show."""


class ExpressionFailed(Exception):
    """A walkthrough question's `expr` raised in the paused frame: that step's questions stop, the tour goes on."""


class SaveFailed(BaseException):
    """Progress could not be written (the disk filled up, the folder became read-only): stop, and say so.
    A BaseException, so the learner's `except Exception` around a stop cannot swallow it."""


QUIT_WORDS = ("q", "quit", "exit")


class Session:
    def __init__(self, walkthrough: Walkthrough, store: ProgressStore, console: Console | None = None, *,
                 mode: str = INTERACTIVE, scripted_answers: dict | None = None, restart: bool = False,
                 read_line=input, seed: int = 0, generated: int = 2, editor=None, review: bool = False,
                 outputs: list[tuple[Path, str]] = (), command: str = "", program_args: list[str] = ()):
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
        self.review = review                       # stop only where questions were missed; ask only those
        self.outputs = list(outputs)               # (file the run writes, command that uses it): the final panel
        self.tour = store.tour(walkthrough.name)
        args_changed = (not review and not restart and self.tour.started and not self.tour.finished
                        and bool(self.tour.command)          # entries saved before arguments were recorded: none
                        and self.tour.program_args != list(program_args))
        if args_changed:
            self.console.print(show.say("[dim]Your unfinished attempt ran with other arguments ({old}); with these "
                                        "({new}) the program computes other things, so a new attempt starts at "
                                        "step 1 (the last one's score stays in `walkthrough progress`).[/]",
                                        old=" ".join(self.tour.program_args) or "none",
                                        new=" ".join(program_args) or "none"))
        past_end = self.tour.started and self.tour.next_step >= len(walkthrough.steps)   # seen every step, then quit
        if not review and (restart or self.tour.finished or args_changed or past_end):
            if (self.tour.finished or past_end) and not restart:
                right, asked = self.tour.score
                self.console.print(show.say("[dim]You finished this walkthrough before ({right}/{asked} right; kept in "
                                            "`walkthrough progress`); starting attempt {n} from step 1.[/]",
                                            right=right, asked=asked, n=len(self.tour.attempts) + 2))
            self.tour.archive()                    # the score and missed questions of the last attempt are kept
        if not review and command:
            self.tour.command, self.tour.program_args = command, list(program_args)
        self.first_step = 0 if review else min(self.tour.next_step, len(walkthrough.steps))
        self._status = show.Status(self.console)
        self._paused_s = 0.0                       # time spent at stops: the program's own clocks count it
        self._predicting = None                    # (frame, first line, last line) of the statement predicted
        self._told_answer_keys = False
        self._predictions: list[tuple[Question, str, types.FrameType]] = []
        self._again: tuple[int, int] | None = None   # (point, execution) the learner asked for with `a N`
        from .practice.workcopy import open_copy
        copy = open_copy(walkthrough.repo_dir)
        # on a bug-hunt copy the tour is the learner's instrument, not a quiz: a question's premise or answer,
        # written for the healthy code, can be false in the buggy one (and could point at the bug)
        self.hunting = copy is not None and copy.kind == "bughunt"
        self.engine: Engine | None = None

    # ----- running --------------------------------------------------------------------------
    def run(self) -> int:
        """Run every entry point of the walkthrough; return the exit code."""
        steps = self.walkthrough.steps
        if self.hunting and self.mode != AUTO:
            self.console.print(Text("A bug-hunt copy: no questions on this tour (they were written for the healthy "
                                    "code); use p EXPR, check, n and a N at the stops.", style="dim"))
        for step in steps:
            if step.stale:
                self.console.print(show.say("[yellow]skipping step {n} ({id}):[/] {why}", n=steps.index(step) + 1,
                                            id=step.id, why=step.stale))
        if self.review:
            dropped = review.gone(steps, self.tour)
            if dropped:          # their steps left the tour: they could never be asked, so they leave the list
                self.tour.missed = [q for q in self.tour.missed if q not in dropped]
                self.console.print(show.say("{k} missed question(s) belonged to steps no longer in {title} "
                                            "({ids}): dropped from the list.", k=len(dropped),
                                            title=self.walkthrough.title,
                                            ids=", ".join(dict.fromkeys(review.step_of(q) for q in dropped))))
                self._save()
            stops = [s for s in review.steps_to_review(steps, self.tour) if not s.stale]
            if not stops:
                self.console.print(show.say("Nothing to review in {title}: no missed question waits at a step that "
                                            "can stop. `walkthrough progress` shows your scores.",
                                            title=self.walkthrough.title))
                return 0
            self.console.print(show.say("[bold]Review:[/] {q} missed question(s) at {n} step(s); the program runs at "
                                        "full speed in between.", q=len(self.tour.missed), n=len(stops)))
        else:
            stops = [s for s in steps[self.first_step:] if not s.stale]
        if self.first_step and not self.review:
            self.console.print(show.say("[bold]Resuming at step {n}/{total}[/] (`--restart` begins again). Earlier "
                                        "steps run at full speed.", n=self.first_step + 1, total=len(steps)))
        points = [StopPoint(str(step.path), step.line, key=step, hit=step.hit, every=step.every, when=step.when,
                            optional=step.optional)
                  for step in stops]
        self.engine = Engine(points, self.walkthrough.repo_dir, self,
                             debugger_break=self.editor.debugpy.breakpoint if self.editor else None,
                             debugger_settle=self.editor.tracing_switch() if self.editor else None)
        try:
            for entry in self.walkthrough.runs:
                script = self.walkthrough.repo_dir / entry.script
                self._stop_status()             # the last script's spinner, if it still runs: never on this line
                self.console.print(Text.assemble(("▶ ", "bold"), ("python " + " ".join([entry.script, *entry.args]),
                                                                   "bold cyan")))
                self._run_entry(script, entry.args)
        finally:
            self._stop_status()
            self._save()
            if self.editor is not None:
                self.editor.close()
        first_unseen = self.engine.pending
        if self._again is not None:         # `a N` asked for an execution that never came
            k, execution = self._again
            first_unseen = k + 1            # that step was seen: not "never reached"
            self.console.print(show.say("[yellow]Execution {n} of step {step} never came:[/] the program ran it "
                                        "{hits} time(s); the later steps of its loop waited for it.", n=execution,
                                        step=self.walkthrough.steps.index(self.engine.points[k].key) + 1,
                                        hits=self.engine.hits[k]))
        unreached = [p.key.id for p in self.engine.points[first_unseen:] if not p.key.optional]
        if self.review:
            self.console.print(show.say("[bold]Review done.[/] {left} question(s) still to ask again"
                                        "{unreached}.", left=len(self.tour.missed),
                                        unreached=f"; never reached: {', '.join(unreached)}" if unreached else ""))
            return 0
        if not unreached:
            self.tour.finished = True
            self.tour.next_step = len(steps)
            self._save()
        saved = [(str(path), command) for path, command in self.outputs if Path(path).is_file()]
        self.console.print(show.summary_view(
            self.walkthrough.title, len(self.tour.steps_seen), len(steps), self.tour.score, unreached,
            name=self.walkthrough.name.split("@")[0], best=self.tour.best(), attempts=len(self.tour.attempts) + 1,
            missed=len(self.tour.missed), saved=saved, paused_s=self._paused_s,
            skipped=[s.id for s in steps if s.stale]))
        return 0

    def _save(self) -> None:
        try:
            self.store.save()
        except ProgressError as exc:
            raise SaveFailed(str(exc)) from None

    def _run_entry(self, script: Path, args: list[str]) -> None:
        self._start_status()
        try:
            self.engine.run_script(script, args)
        except SystemExit as exc:
            if self.console.quiet or output_closed():    # rich met a closed pipe at a stop and went quiet
                raise BrokenPipeError("the output was closed") from None
            if exc.code not in (None, 0):
                message = exc.code if isinstance(exc.code, str) else f"exit status {exc.code}"
                raise ProgramFailed(f"{script.name} stopped: {message}") from None
        except (QuitTour, KeyboardInterrupt, EndOfInput, WhenError, InternalError):
            raise
        except ModuleNotFoundError as exc:      # a dependency of the program is not installed: name it
            from .autotour.generate import missing_module_message
            raise ProgramFailed(self._learner_traceback(exc) + "\n" + missing_module_message(exc.name or str(exc))) from None
        except Exception as exc:
            if isinstance(exc, OSError) and output_closed():    # the program printed into a closed pipe
                raise BrokenPipeError("the output was closed") from None
            raise ProgramFailed(self._learner_traceback(exc)) from None

    def _learner_traceback(self, exc: BaseException) -> str:
        repo = str(self.walkthrough.repo_dir.resolve())
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename.startswith(repo)]
        lines = ["Where it failed (the program's own frames, innermost last):\n", *traceback.format_list(frames)]
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
        self._status.start(message)     # replaces a running one: never two spinners

    def _stop_status(self) -> None:
        self._status.stop()

    # ----- the engine's client: called at stops -----------------------------------------------
    def user_stop(self, frame: types.FrameType, point: StopPoint) -> str:
        paused = time.monotonic()
        try:
            return self._stop(frame, point)
        finally:
            self._paused_s += time.monotonic() - paused

    def _stop(self, frame: types.FrameType, point: StopPoint) -> str:
        self._stop_status()
        step: Step = point.key
        index = self.walkthrough.steps.index(step)
        if self._again is not None:
            asked, self._again = self._again, None
            k = self.engine.points.index(point)
            if k == asked[0]:          # `a N`: the same step again, later: its values, no questions asked twice
                rows = values.frame_values(frame, [*step.watch, *values.line_expressions(step.code)])
                self.console.print(show.step_view(index + 1, len(self.walkthrough.steps), step,
                                                  self.walkthrough.repo_dir, rows))
                self.console.print(show.say("[bold]execution {n}[/] of step {step} (`a` goes on to the next one, "
                                            "Enter to the next step)", n=self.engine.hits[k], step=index + 1))
                return self._prompt(frame, step)
            self.console.print(show.say("[yellow]Step {step} came before execution {n} of step {was}:[/] the tour "
                                        "goes on from here.", step=index + 1, n=asked[1],
                                        was=self.walkthrough.steps.index(self.engine.points[asked[0]].key) + 1))
        if not self.review:
            self.tour.next_step = index
            self._save()
        rows = values.frame_values(frame, [*step.watch, *values.line_expressions(step.code)])
        self.console.print(show.step_view(index + 1, len(self.walkthrough.steps), step,
                                          self.walkthrough.repo_dir, rows))
        try:
            self._ask(step, frame)
        except ExpressionFailed as exc:
            self.console.print(Text(f"this step's question cannot be checked: {exc}; skipping its questions "
                                    "(`walkthrough check` reports names that no longer exist)", style="yellow"))
        if not self.review:
            if step.id not in self.tour.steps_seen:
                self.tour.steps_seen.append(step.id)
            self.tour.next_step = index + 1
        self._save()
        if self.editor is not None and self.editor.still_attached():
            return self._hand_to_editor(step, point)
        if self._predictions:
            self._predicting = (frame, step.line, step.end_line)   # checked once the whole statement has run
            self.console.print(Text("Running the line to check your predictions …", style="dim"))
            return STEP_OVER
        return self._prompt(frame, step)

    def _hand_to_editor(self, step: Step, point: StopPoint) -> str:
        """The editor stops at the step's line once we return; predictions are checked after the statement."""
        self.console.print(show.say("[bold]→ VS Code is stopped at {file}:{line}[/]: inspect the Variables pane, "
                                    "then Continue (F5) there to move on.", file=step.file, line=step.line))
        if self._predictions:
            if self.engine.points.index(point) in self.engine.after_points:
                return EDITOR_AFTER
            self.console.print(Text("This statement has no 'after' point in editor mode; predictions not checked.",
                                    style="dim"))
            self._predictions.clear()
        return EDITOR

    def user_after(self, frame: types.FrameType, point: StopPoint) -> None:
        self._check_predictions()

    def user_line(self, frame: types.FrameType) -> str:
        paused = time.monotonic()
        try:
            return self._line(frame)
        finally:
            self._paused_s += time.monotonic() - paused

    def _line(self, frame: types.FrameType) -> str:
        if self._predictions and self._predicting is not None:
            stopped_frame, first, last = self._predicting
            if frame is stopped_frame and first <= frame.f_lineno <= last:
                return STEP_OVER           # still inside the statement (a call spread over several lines)
        self._stop_status()
        self._predicting = None
        checked = bool(self._predictions)
        if checked:
            self._check_predictions()
            if self.mode != INTERACTIVE:
                self._start_status()
                return CONTINUE
        statement = self._statement_at(frame.f_code.co_filename, frame.f_lineno)
        rows = values.frame_values(frame, values.line_expressions(statement)) if statement else []
        self.console.print(show.line_view(Path(frame.f_code.co_filename), frame.f_lineno, frame.f_code.co_name,
                                          self.walkthrough.repo_dir, rows,
                                          context=1 if checked else None))    # the step's panel is just above
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
            except (SyntaxError, OSError, RecursionError, ValueError):   # a file libcst cannot take: no questions
                return []
        shown = [*step.watch, *values.line_expressions(step.code)]   # the live values on screen
        screen = " ".join([step.title, step.text, step.math, step.how])  # what the step already explains
        generated = questions.for_stop(self._indexes[step.path], step.line, frame, self.seed, step.id,
                                       count=self.generated, authored=step.questions, shown=shown,
                                       asked_idioms=self._asked_idioms, screen=screen)
        self._asked_idioms.update(q.idiom for q in generated if q.idiom)
        return generated

    def _ask(self, step: Step, frame: types.FrameType) -> None:
        if self.mode == AUTO or self.hunting:
            return
        from .quiz import questions   # libcst's matchers take ~0.2 s to import: only when questions are asked
        asked = step.questions + self._generated_for(step, frame)
        if self.review:
            asked = review.to_ask(asked, self.tour)
        for n, question in enumerate(asked, start=1):
            self.console.print(show.question_view(n, len(asked), question))
            reply = self._answer_for(question, frame, step)
            if reply is None:
                self.console.print(Text("  skipped", style="dim"))
                continue
            if question.kind == "value" and question.expr and question.after:
                self._predictions.append((question, reply, frame))
                self.console.print(Text("  noted; we'll check it once the line has run", style="dim"))
                continue
            if question.kind == "value" and question.expr:
                real = self._evaluate(question.expr, frame)
                self._record(question, answers.check_value(reply, real, question.tolerance), repr(real))
            else:
                verdict = questions.check_reply(question, reply)
                self._record(question, verdict.right, verdict.expected, verdict.misconception, verdict.close)

    def _answer_for(self, question: Question, frame: types.FrameType, step: Step) -> str | None:
        if self.mode == SCRIPTED:
            step_id, n = question.id.rsplit(".", 1)
            reply = self.scripted.get(question.id)
            if reply is None and n.isdecimal() and isinstance(self.scripted.get(step_id), list):
                listed = self.scripted[step_id]       # a list answers the authored questions, in order
                reply = listed[int(n) - 1] if int(n) <= len(listed) else None
            if reply is not None:
                self.console.print(Text.assemble("  answer (from file): ", str(reply)))
            return None if reply is None else str(reply)
        if not self._told_answer_keys:
            self._told_answer_keys = True
            self.console.print(Text("  (type your answer and Enter; Enter alone skips the question; h hint, "
                                    "p EXPR prints a value first; q quits, progress saved)", style="dim"))
        while True:
            reply = self.read_line("answer> ").strip()
            if reply.lower() in QUIT_WORDS and not any(reply.lower() == c.lower() for c in question.choices):
                raise QuitTour()
            if not reply:
                return None
            command = answers.prompt_command(reply, question)
            if command is not None:
                self._run_command(command, reply.strip().partition(" ")[2], frame, step)
                continue
            refused = answers.not_an_answer(reply, question)
            if refused is None:
                return reply
            self.console.print(Text.assemble(("  ", ""), (refused, "yellow"),
                                             " (not counted; Enter skips the question)"))

    def read_line(self, prompt: str) -> str:
        try:
            return self._read_line(prompt)
        except (EOFError, ValueError):      # ValueError: input closed (`p exit()` closes sys.stdin)
            raise EndOfInput() from None

    def _evaluate(self, expr: str, frame: types.FrameType):
        try:
            return eval(expr, frame.f_globals, frame.f_locals)   # the walkthrough author's expression
        except Exception as exc:
            raise ExpressionFailed(f"{expr!r} raised {exc.__class__.__name__}: {values.cut(str(exc), 200)}") from None

    def _check_predictions(self) -> None:
        for question, reply, frame in self._predictions:
            try:
                real = self._evaluate(question.expr, frame)
            except Exception as exc:
                self.console.print(Text(f"could not check the prediction: {exc}", style="red"))
                continue
            shown = f"{question.subject or question.expr} = {values.describe(real)}"
            self._record(question, answers.check_value(reply, real, question.tolerance), shown)
        self._predictions.clear()

    def _record(self, question: Question, right: bool, expected: str, misconception: str = "", close: str = "") -> None:
        self.console.print(show.feedback(right, expected, question.explain, misconception, close))
        if not self.review:        # a review changes what is left to review, not the attempt's score
            self.tour.answers[question.id] = right
        if right and question.id in self.tour.missed:
            self.tour.missed.remove(question.id)
        elif not right and not close and question.id not in self.tour.missed:
            self.tour.missed.append(question.id)       # a near miss (`advantage` for `advantages`) is not reviewed
        if not right:
            step = next((s for s in self.walkthrough.steps if s.id == review.step_of(question.id)), None)
            if step is not None:
                number = self.walkthrough.steps.index(step) + 1
                self.tour.question_text[question.id] = review.words(number, step, question)
        self._save()

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
            if word in ("a", "again"):
                if self._rearm(rest, frame):
                    self._start_status()
                    return CONTINUE
                continue
            if word in ("p", "print", "w", "where", "bt", "h", "hint", "check"):
                self._run_command(word, rest, frame, step)
            elif word in QUIT_WORDS:
                raise QuitTour()
            elif word in ("?", "help"):
                self.console.print(show.PROMPT_HELP)
            else:
                self.console.print(Text.assemble((f"unknown command {word[:60]!r}", "red"), "; "),
                                   show.PROMPT_HELP)

    def _rearm(self, rest: str, frame: types.FrameType) -> bool:
        """`a [N]`: run on to the next execution (or execution N) of the step stopped at last. False (and why,
        on screen) if that cannot be done."""
        k = self.engine.pending - 1 if self.engine is not None else -1
        if k < 0 or self.editor is not None:
            self.console.print(Text("`a` runs on to a later execution of the step you stopped at: there is none "
                                    "here" + (" (not in VS Code mode: use a conditional breakpoint there)"
                                              if self.editor is not None else ""), style="red"))
            return False
        now = self.engine.hits[k]
        try:
            execution = int(rest) if rest.strip() else now + 1
        except ValueError:
            self.console.print(Text.assemble(("usage: a [N]", "red"), "  on to the next execution of this step, "
                                             "or to its execution N"))
            return False
        if execution <= now:
            self.console.print(Text(f"execution {execution} of this step has already run (it is at execution "
                                    f"{now}); give a later one, e.g. a {now + 1}", style="red"))
            return False
        self._again = (k, execution)
        self.engine.rearm(k, execution, frame)
        return True

    def _run_command(self, word: str, rest: str, frame: types.FrameType, step: Step | None) -> None:
        """A debugger command, at the `walkthrough>` prompt or typed at `answer>` before answering."""
        if word in ("p", "print"):
            self._print_expression(rest, frame)
        elif word in ("w", "where", "bt"):
            self.console.print(show.stack_view(self._repo_stack(frame)))
        elif word in ("h", "hint"):
            step = step or self._last_step()        # after a prediction ran the line: still that step's hint
            hint = step.hint if step and step.hint else "No hint here: print a value with `p NAME`."
            self.console.print(Text(hint.strip(), style="italic"))
        elif word == "check":
            self._check(frame, step)
        else:                                   # ? / help at answer>
            self.console.print(Text("At answer>: type your answer; h hint, p EXPR print a value, w stack, "
                                    "check value checks, Enter skips, q quits."))

    def _last_step(self) -> Step | None:
        """The step of the last stop (the engine moves `pending` past a point when it stops there)."""
        return self.engine.points[self.engine.pending - 1].key if self.engine and self.engine.pending else None

    def _check(self, frame: types.FrameType, step: Step | None) -> None:
        from .practice import checks
        statement = step.code if step is not None else self._statement_at(frame.f_code.co_filename, frame.f_lineno)
        self.console.print(show.check_view(checks.check_frame(frame, statement), checks.tensors_in_frame(frame)))

    def _print_expression(self, expr: str, frame: types.FrameType) -> None:
        if not expr.strip():
            self.console.print(Text.assemble(("usage: p EXPRESSION", "red"), "  e.g. p ratio.shape"))
            return
        import sys
        stdin, sys.stdin = sys.stdin, _StdinKeptOpen(sys.stdin)
        try:
            value = eval(expr, frame.f_globals, frame.f_locals)   # the learner's own debugger expression
        except (KeyboardInterrupt, QuitTour, EndOfInput, SaveFailed, InternalError, WhenError):
            raise
        except BaseException as exc:      # SyntaxError, SystemExit from `p exit()`, RecursionError...: all shown
            advice = " (that would end the program; type q to leave the walkthrough)" \
                if isinstance(exc, SystemExit) else ""
            self.console.print(Text(f"{exc.__class__.__name__}: {values.cut(str(exc), 300)}{advice}", style="red"))
            return
        finally:
            sys.stdin = stdin
        self.console.print(Text.assemble((expr, "bold green"), " = ", values.describe(value)))

    def _repo_stack(self, frame: types.FrameType) -> list[tuple[str, int, str]]:
        repo = str(self.walkthrough.repo_dir.resolve())
        frames = []
        while frame is not None:
            if frame.f_code.co_filename.startswith(repo):
                frames.append((frame.f_code.co_filename, frame.f_lineno, frame.f_code.co_name))
            frame = frame.f_back
        return frames[::-1]



class _StdinKeptOpen:
    """sys.stdin while a `p` expression runs: `exit()` (site's Quitter) closes sys.stdin before raising
    SystemExit, which would leave the walkthrough's prompts without input."""

    def __init__(self, stream):
        self._stream = stream

    def close(self):
        pass

    def __getattr__(self, name):
        return getattr(self._stream, name)
