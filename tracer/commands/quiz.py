"""`walkthrough quiz FILE`: questions generated from any Python file's code, without running it.

In a terminal it asks them one by one, checks each answer and keeps the score; `--print` lists them
with their answers, `--json` prints them for other tools.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from rich.text import Text

from . import EXIT_INTERRUPTED, EXIT_OK, UsageError, subparser


def add_parser(sub, name: str) -> None:
    quiz = subparser(
        sub, name, help="questions about any Python file's ML code, asked in the terminal",
        description="Generate questions from a Python file's code, without running it, and ask them:\n"
                    "  idiom    why an ML idiom is there (torch.no_grad, zero_grad/backward/step, a clamp of the\n"
                    "           ratio, an epsilon in a denominator, ...; walkthroughs/catalogue/idioms.toml)\n"
                    "  mutant   which is the real line, among versions with a planted mistake\n"
                    "  blank    fill the blank: an ML function, a dim, an operator\n"
                    "  parsons  put shuffled lines in an order that computes the same thing\n"
                    "  names    which variables a line reads or changes (only with --kinds names)\n\n"
                    "The best question of each line is chosen by teaching value (idioms first, syntax last).\n"
                    "In a terminal the questions are asked one by one; otherwise they are listed (--print).\n\n"
                    "  walkthrough quiz minimal_impls/ppo/train.py\n"
                    "  walkthrough quiz model.py --function GPT.forward --count 5\n"
                    "  walkthrough quiz model.py --json > questions.json")
    quiz.add_argument("file", help="a Python source file")
    quiz.add_argument("--function", help="only statements inside this function (qualified: Class.method)")
    output = quiz.add_mutually_exclusive_group()
    output.add_argument("--print", dest="listing", action="store_true",
                        help="list the questions with their answers instead of asking them")
    output.add_argument("--json", action="store_true", help="print one JSON array of question objects (see README)")
    quiz.add_argument("--count", type=int, metavar="N", help="ask at most N questions (default: 10 when asking, "
                                                            "all when listing)")
    quiz.add_argument("--all", action="store_true",
                      help="every question worth asking (still one per line and one per idiom card), "
                           "not only the best-scoring ones")
    quiz.add_argument("--seed", type=int, default=0, help="seed: the same seed gives the same questions")
    quiz.add_argument("--kinds", nargs="+", metavar="KIND",
                      help="only these kinds: idiom mutant blank parsons names")


def _questions(args):
    from ..quiz import questions

    kinds = tuple(args.kinds) if args.kinds else None
    unknown = [k for k in kinds or () if k not in questions.STATIC_KINDS]
    if unknown:
        hint = " (purpose was removed: its options could be matched by names alone)" if "purpose" in unknown else ""
        raise UsageError(f"unknown kind(s) {', '.join(unknown)}; kinds: {', '.join(questions.STATIC_KINDS)}{hint} "
                         "(shape, value and what-if questions need a running program: walkthrough start)")
    if args.count is not None and args.count < 1:
        raise UsageError("--count must be at least 1")
    path = Path(args.file)
    try:
        index = questions.SourceIndex.from_file(path)
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except (UnicodeDecodeError, IsADirectoryError, PermissionError) as exc:
        raise UsageError(f"{path}: not a readable Python source file ({exc.__class__.__name__})") from None
    except SyntaxError as exc:
        raise UsageError(str(exc)) from None
    except RecursionError:
        raise UsageError(f"{path}: an expression is nested too deeply to analyse") from None
    if args.function and not any(s.function == args.function or s.function.startswith(args.function + ".")
                                 for s in index.statements):
        functions = sorted({s.function for s in index.statements if s.function != "<module>"})
        raise UsageError(f"{path}: no function {args.function!r}; functions: {', '.join(functions) or 'none'}")
    try:
        chosen = questions.for_file(index, seed=args.seed, function=args.function, kinds=kinds, every=args.all)
    except RecursionError:
        raise UsageError(f"{path}: an expression is nested too deeply to analyse") from None
    return path, chosen


def run(args, program_args, console) -> int:
    from .. import deep, show
    from ..quiz import questions

    path, chosen = deep.call(_questions, args)      # a 500-term expression is deep for libcst, not for Python
    if args.json:
        return _print_json([questions.to_json(q) for q in chosen[:args.count]])
    if not chosen:
        console.print(Text(f"No questions for {path}: no ML idiom was recognised and no line offers a question "
                           "worth asking (try --all, or --kinds names)."))
        return EXIT_OK
    interactive = not args.listing and sys.stdin.isatty() and console.is_terminal
    if not interactive:
        listed = chosen[:args.count]
        for n, question in enumerate(listed, start=1):
            console.print(show.question_view(n, len(listed), question))
            answer = question.answer if isinstance(question.answer, str) else "\n".join(question.answer)
            console.print(Text.assemble(("answer: ", "dim"), answer, "\n"))
        console.print(Text(f"{len(listed)} questions from {path}"))
        return EXIT_OK
    return _ask(chosen[:args.count or 10], path, console)


def _print_json(data) -> int:
    """Print the questions as JSON; a reader that goes away early (`| head`) ends the output quietly."""
    try:
        sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=1) + "\n")
        sys.stdout.flush()
    except BrokenPipeError:
        import os
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())   # nothing left to flush at exit
        return _BROKEN_PIPE
    return EXIT_OK


_BROKEN_PIPE = 141      # as a shell reports a reader that went away (the CLI's own broken-pipe net uses it too)


def _ask(asked, path, console) -> int:
    """Ask each question in the terminal, check it, give feedback, keep the score."""
    from .. import show
    from ..quiz import answers, questions

    right = answered = close = 0
    console.print(Text.assemble((f"{len(asked)} questions about {path}", "bold"),
                                " — Enter skips a question, q quits, Ctrl-C stops."))
    try:
        for n, question in enumerate(asked, start=1):
            console.print()
            console.print(show.question_view(n, len(asked), question))
            reply = input("answer> ").strip()
            while reply and (refused := answers.not_an_answer(reply, question)) is not None \
                    and reply.lower() not in ("q", "quit"):
                console.print(Text.assemble(("  ", ""), (refused, "yellow"), " (not counted; Enter skips)"))
                reply = input("answer> ").strip()
            if reply.lower() in ("q", "quit"):
                break
            if not reply:
                console.print(Text("  skipped", style="dim"))
                continue
            verdict = questions.check_reply(question, reply)
            answered += 1
            right += verdict.right
            close += bool(verdict.close)
            console.print(show.feedback(verdict.right, verdict.expected, question.explain, verdict.misconception,
                                        verdict.close))
    except (KeyboardInterrupt, EOFError):
        console.print(Text(f"\nStopped. Score: {right}/{answered}"))
        return EXIT_INTERRUPTED
    console.print(Text(f"\nScore: {right}/{answered} right" + (f", {close} close" if close else "")
                       + (f" ({len(asked) - answered} skipped)" if answered < len(asked) else "")))
    return EXIT_OK
