"""`walkthrough quiz FILE`: questions generated from any Python file's code, without running it."""
from __future__ import annotations

import json
from pathlib import Path

from rich.text import Text

from . import EXIT_OK, UsageError, subparser


def add_parser(sub, name: str) -> None:
    quiz = subparser(
        sub, name, help="generate questions about any Python file, without running it",
        description="Generate questions from a Python file's code with libcst: which is the real line (mutants), "
                    "fill the blank, reads and writes, what a line does, order the lines (Parsons). "
                    "The file is parsed, never run.")
    quiz.add_argument("file", help="a Python source file")
    quiz.add_argument("--function", help="only statements inside this function (qualified: Class.method)")
    quiz.add_argument("--json", action="store_true", help="print one JSON array of question objects (see README)")
    quiz.add_argument("--seed", type=int, default=0, help="seed: the same seed gives the same questions")
    quiz.add_argument("--kinds", nargs="+", metavar="KIND", help="only these kinds: mutant blank names purpose parsons")


def run(args, program_args, console) -> int:
    from .. import show
    from ..quiz import questions

    kinds = tuple(args.kinds or questions.STATIC_KINDS)
    unknown = [k for k in kinds if k not in questions.STATIC_KINDS]
    if unknown:
        raise UsageError(f"unknown kind(s) {', '.join(unknown)}; static kinds: {', '.join(questions.STATIC_KINDS)} "
                         "(predict and loop_count need a running program: walkthrough start)")
    path = Path(args.file)
    try:
        index = questions.SourceIndex.from_file(path)
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except (UnicodeDecodeError, IsADirectoryError) as exc:
        raise UsageError(f"{path}: not a readable Python source file ({exc.__class__.__name__})") from None
    except SyntaxError as exc:
        raise UsageError(str(exc)) from None
    if args.function and not any(s.function == args.function or s.function.startswith(args.function + ".")
                                 for s in index.statements):
        functions = sorted({s.function for s in index.statements if s.function != "<module>"})
        raise UsageError(f"{path}: no function {args.function!r}; functions: {', '.join(functions) or 'none'}")
    generated = questions.generate_static(index, seed=args.seed, function=args.function, kinds=kinds)
    if args.json:
        print(json.dumps([questions.to_json(q) for q in generated], ensure_ascii=False, indent=1))
        return EXIT_OK
    for n, question in enumerate(generated, start=1):
        console.print(show.question_view(n, len(generated), question))
        answer = question.answer if isinstance(question.answer, str) else "\n".join(question.answer)
        console.print(Text.assemble(("answer: ", "dim"), answer, "\n"))
    console.print(Text(f"{len(generated)} questions from {path}"))
    return EXIT_OK
