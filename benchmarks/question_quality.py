"""Quality of the questions `walkthrough quiz` asks, on the repo's files and on a corpus of public ML files.

For each kind: how many questions, how many have an answer verified by machine, and how. Then the
structural defects, each checked here independently of the generator, all of which must be 0:
  * a wrong option equal to the answer or to another wrong option: the same text, the same syntax
    tree, or the same values on random inputs (with other random inputs than the generator used);
  * a filled-in blank that is not the real statement;
  * one prompt text (of a question without choices, line numbers aside) with two different answers.
Then the rated sample (tests/data/questions/rated.json): each question's verdict as a learner read it.

    python benchmarks/question_quality.py              # figures; last line as below
    python benchmarks/question_quality.py --sample 70  # a fresh random sample to rate, as JSON

Last line: questions=N kinds=K defects=D idiom_share=S seconds_max=T   (T: seconds for the slowest file,
scaled to 300 lines; budget 2 s)
"""
from __future__ import annotations

import argparse
import ast
import json
import random
import re
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tracer.quiz import idioms, probe, questions  # noqa: E402

CORPUS = ROOT / "tests" / "data" / "questions" / "corpus"
RATED = ROOT / "tests" / "data" / "questions" / "rated.json"


def files() -> list[Path]:
    own = sorted((ROOT / "minimal_impls").rglob("*.py"))
    corpus = sorted(CORPUS.glob("*.py")) if CORPUS.is_dir() else []
    return own + corpus


def generate(path: Path, seed: int = 0):
    start = time.perf_counter()
    index = questions.SourceIndex.from_file(path)
    chosen = questions.for_file(index, seed=seed)
    seconds = time.perf_counter() - start
    return index, chosen, seconds


# ----- independent checks -------------------------------------------------------------------------------
def _tree(code: str) -> str | None:
    try:
        return ast.dump(ast.parse(code))
    except (SyntaxError, ValueError, RecursionError):
        return None


def _probe_states(codes, aliases):
    """States on trials the generator did not use (offset seeds)."""
    out = []
    for code in codes:
        try:
            statements = probe.parse_statements(code)
            watch = sorted(probe.written_names(statements)) + ["<return>", "<value>"]
            out.append((statements, watch))
        except probe.Unsupported:
            out.append(None)
    names = sorted({w for item in out if item for w in item[1]})
    states = []
    for item in out:
        if item is None:
            states.append(None)
            continue
        try:
            states.append([probe.state(item[0], aliases, trial, names) for trial in range(100, 104)])
        except probe.Unsupported:
            states.append(None)
    return states


def defects(q, index) -> list[str]:
    found = []
    if q.kind == "choice":
        options = list(q.choices)
        if len(set(options)) != len(options) or q.answer not in options:
            found.append("options repeat, or the answer is not among them")
        if q.source == "mutant":
            trees = [_tree(o) for o in options]
            if len(set(trees)) != len(trees):
                found.append("two options have the same syntax tree")
            states = _probe_states(options, index.aliases)
            for i in range(len(options)):
                for j in range(i + 1, len(options)):
                    if states[i] is not None and states[j] is not None and probe.same_in_some_trial(states[i], states[j]):
                        found.append(f"options compute the same values: {options[i]!r} / {options[j]!r}")
    if q.kind == "blank":
        filled = q.expr.replace(questions.BLANK, q.answer, 1)
        if _tree(filled) is None or _tree(filled) != _tree(q.code):
            found.append(f"the filled blank is not the real statement: {filled!r}")
        if not questions.check_blank(q.answer, q):
            found.append("the checker rejects the answer")
    return found


def _prompt_key(q) -> str:
    text = q.expr if q.kind == "blank" else q.prompt
    return re.sub(r"\b(line|lines|Lines|Line) \d+(-\d+)?", "line N", text)


def ambiguous_prompts(all_questions) -> list[str]:
    by_prompt = defaultdict(set)
    for path, q in all_questions:
        if not q.choices or q.kind == "parsons":
            by_prompt[(str(path), q.source, _prompt_key(q))].add(json.dumps(q.answer))
    return [f"{p}: {k[:60]!r}" for (p, _, k), answers in by_prompt.items() if len(answers) > 1]


# ----- the rated sample ----------------------------------------------------------------------------------
def rated_summary(path: Path = RATED) -> str | None:
    if not path.is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    rated = [d for d in data if d.get("verdict")]
    if not rated:
        return None
    valid = sum(d["verdict"]["valid"] for d in rated)
    value3 = sum(d["verdict"]["value"] >= 3 for d in rated)
    lines = [f"rated sample ({path.relative_to(ROOT)}): {len(rated)} questions from "
             f"{len({d['file'] for d in rated})} files: valid {valid}/{len(rated)} = {valid / len(rated):.0%}, "
             f"teaching value >= 3: {value3}/{len(rated)} = {value3 / len(rated):.0%}, "
             f"mean value {sum(d['verdict']['value'] for d in rated) / len(rated):.2f}"]
    by_kind = defaultdict(list)
    for d in rated:
        by_kind[d["kind"]].append(d["verdict"])
    for kind, verdicts in sorted(by_kind.items()):
        lines.append(f"  {kind}: {len(verdicts)} rated, valid {sum(v['valid'] for v in verdicts)}, "
                     f"value>=3 {sum(v['value'] >= 3 for v in verdicts)}")
    return "\n".join(lines)


def sample(count: int, seed: int) -> list[dict]:
    """A random sample of the questions quiz asks on the corpus files, spread over the files."""
    rng = random.Random(seed)
    pool = []
    for path in sorted(CORPUS.glob("*.py")):
        _, chosen, _ = generate(path)
        pool.extend((path, q) for q in chosen)
    picked = rng.sample(pool, min(count, len(pool)))
    picked.sort(key=lambda item: (item[0].name, item[1].line))
    out = []
    for path, q in picked:
        data = questions.to_json(q)
        data["file"] = path.name
        data["verdict"] = None
        out.append(data)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sample", type=int, metavar="N", help="print N random corpus questions to rate, as JSON")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if args.sample:
        print(json.dumps(sample(args.sample, args.seed), ensure_ascii=False, indent=1))
        return
    idioms.catalogue()                       # compiled once, as in a running tool
    paths = files()
    if not CORPUS.is_dir() or not any(CORPUS.glob("*.py")):
        print(f"note: no corpus files in {CORPUS} (see tests/data/questions/README.md); the repo's own files only")
    kinds, verified, how = Counter(), Counter(), defaultdict(set)
    all_questions, problems, worst, worst_name = [], [], 0.0, ""
    pool_kinds, pool_questions, pool_problems = Counter(), [], []
    for path in paths:
        index, chosen, seconds = generate(path)
        pool = questions.for_file(index, every=True)          # what `quiz --all` asks: checked the same way
        pool_kinds.update(q.source for q in pool)
        pool_questions += [(path, q) for q in pool]
        pool_problems += [f"{path.name}:{q.line} {q.source} (--all): {d}" for q in pool for d in defects(q, index)]
        lines = len(path.read_text(encoding="utf-8").splitlines())
        scaled = seconds * 300 / max(lines, 300)
        if scaled > worst:
            worst, worst_name = scaled, path.name
        per_kind = Counter(q.source for q in chosen)
        print(f"{path.relative_to(ROOT)}: {lines} lines, {len(chosen)} questions in {seconds:.2f} s "
              f"({', '.join(f'{k} {v}' for k, v in sorted(per_kind.items()))})")
        for q in chosen:
            kinds[q.source] += 1
            if q.source != "idiom" and q.verified and not q.verified.startswith("static"):
                verified[q.source] += 1
            how[q.source].add(q.verified)
            all_questions.append((path, q))
            problems += [f"{path.name}:{q.line} {q.source}: {d}" for d in defects(q, index)]
    problems += [f"ambiguous prompt: {p}" for p in ambiguous_prompts(all_questions)]
    pool_problems += [f"ambiguous prompt (--all): {p}" for p in ambiguous_prompts(pool_questions)]
    problems += [p for p in pool_problems if p not in problems]
    total = sum(kinds.values())
    print()
    for kind in questions.STATIC_KINDS:
        if kinds[kind]:
            print(f"{kind}: {kinds[kind]} questions, {verified[kind]} machine-verified — "
                  + " | ".join(sorted(how[kind])))
    print(f"\n--all: {sum(pool_kinds.values())} questions ({', '.join(f'{k} {v}' for k, v in sorted(pool_kinds.items()))}), "
          f"checked for the same defects")
    print(f"\nstructural defects: {len(problems)}")
    for problem in problems[:20]:
        print("  " + problem)
    summary = rated_summary()
    if summary:
        print("\n" + summary)
    print(f"\nslowest file (scaled to 300 lines): {worst_name}")
    idiom_share = kinds["idiom"] / total if total else 0.0
    print(f"questions={total} kinds={len(kinds)} defects={len(problems)} idiom_share={idiom_share:.2f} "
          f"seconds_max={worst:.2f}")


if __name__ == "__main__":
    main()
