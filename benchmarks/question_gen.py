"""Questions generated over every file of minimal_impls/: counts per kind, candidates dropped, time per file.

Last line: files=F questions=Q max_seconds_per_file=S (target: <= 0.5 s for a 300-line file)
"""
import time
from pathlib import Path

from tracer.quiz import questions

ROOT = Path(__file__).resolve().parent.parent


def main():
    totals = questions.Stats()
    worst = 0.0
    files = sorted((ROOT / "minimal_impls").rglob("*.py"))
    count = 0
    for path in files:
        start = time.perf_counter()
        stats = questions.Stats()
        generated = questions.generate_static(questions.SourceIndex.from_file(path), seed=0, stats=stats)
        seconds = time.perf_counter() - start
        worst = max(worst, seconds)
        count += len(generated)
        lines = len(path.read_text().splitlines())
        print(f"{path.relative_to(ROOT)}: {lines} lines, {len(generated)} questions in {seconds:.3f} s "
              f"({', '.join(f'{k} {v}' for k, v in sorted(stats.made.items()))})")
        for kind, n in stats.made.items():
            totals.made[kind] = totals.made.get(kind, 0) + n
        totals.dropped_equivalent += stats.dropped_equivalent
        totals.dropped_ambiguous += stats.dropped_ambiguous
        totals.dropped_duplicate += stats.dropped_duplicate
    print("\nper kind: " + ", ".join(f"{k}={v}" for k, v in sorted(totals.made.items())))
    print(f"dropped: equivalent mutants={totals.dropped_equivalent}, ambiguous blanks or too few options="
          f"{totals.dropped_ambiguous}, repeated Parsons windows={totals.dropped_duplicate}")
    print(f"files={len(files)} questions={count} max_seconds_per_file={worst:.3f}")


if __name__ == "__main__":
    main()
