"""`walkthrough bughunt REPO`: a realistic bug, verified live, planted in a copy; find it with the debugger."""
from __future__ import annotations

from pathlib import Path

from rich.text import Text

from . import EPILOG, EXIT_INTERRUPTED, EXIT_OK, EXIT_PROGRAM_FAILED, UsageError, store, subparser
from .start import bounded_int

TAKES_PROGRAM_ARGS = True


def add_parser(sub, name: str) -> None:
    hunt = subparser(
        sub, name, help="find a realistic ML bug planted in a copy of a reference repo",
        description="Plant one realistic ML bug in a copy of a reference repo -- only after checking that it\n"
                    "really changes what the program does -- and hunt it with the tour and the debugger.\n\n"
                    "  walkthrough bughunt ppo                       plant a bug (or resume the hunt), show the symptom\n"
                    "  walkthrough start ppo --repo walkthrough-work/bughunt-ppo   hunt with the tour: p EXPR, check\n"
                    "  walkthrough bughunt ppo --guess train.py:140  is the bug on that line's statement? (exit 0/1)\n"
                    "  walkthrough bughunt ppo --hint                symptom, then stage, then tour step, then lines\n"
                    "  walkthrough bughunt ppo --watch               the value checks watching the whole run\n"
                    "  walkthrough bughunt ppo --reveal              the diff, what the bug does, why it hurts\n"
                    "  walkthrough bughunt ppo -- --total-timesteps 4096   other flags for the short runs",
        epilog=EPILOG.replace("  1    the program being walked through raised an exception or exited non-zero",
                              "  1    the program being walked through raised an exception or exited non-zero;\n"
                              "       --guess: that line is not on the bug's statement"))
    hunt.add_argument("repo", help="the reference repo: ppo or mlp")
    action = hunt.add_mutually_exclusive_group()
    action.add_argument("--guess", metavar="FILE:LINE", help="say where the bug is (any line of its statement)")
    action.add_argument("--hint", action="store_true", help="the next hint (counted in your score)")
    action.add_argument("--reveal", action="store_true", help="show the bug, what it does and why it hurts")
    action.add_argument("--watch", action="store_true",
                        help="run the copy with the value checks watching every tour step (its executions 1, 2, 4, "
                             "8, ...) and list the flags they raise")
    action.add_argument("--kinds", action="store_true",
                        help="list the faults that apply to this repo (not which one is planted)")
    hunt.add_argument("--seed", type=int, default=None, help="choose the bug with this seed (default: a random one)")
    hunt.add_argument("--kind", metavar="FAULT", help="plant this fault of the catalogue (an id from --kinds)")
    hunt.add_argument("--dir", metavar="DIR", help="where the copy goes (default walkthrough-work/bughunt-REPO)")
    hunt.add_argument("--force", action="store_true", help="plant a new bug even if a hunt is under way or the copy "
                                                           "holds your edits (they are lost)")
    hunt.add_argument("--jobs", type=bounded_int(1, 256), default=None, help="runs at once (default: the number of cores)")


def _config(repo: str):
    from ..practice.bughunt import HuntError, load_config

    try:
        hunts = load_config()
    except HuntError as exc:
        raise UsageError(str(exc)) from None
    if repo not in hunts:
        raise UsageError(f"no bug hunt for {repo!r}; available: {', '.join(sorted(hunts))}")
    return hunts[repo]


def _command(cfg, dest: Path, extra: str = "") -> str:
    from ..practice.bughunt import default_dir

    where = "" if dest.resolve() == default_dir(cfg.repo).resolve() else f" --dir {dest}"
    return f"walkthrough bughunt {cfg.repo}{where}{extra}"


def _shown(path: Path) -> Path:
    try:
        return Path(path).resolve().relative_to(Path.cwd())
    except ValueError:
        return Path(path)


def run(args, program_args, console) -> int:
    from ..practice import bughunt

    cfg = _config(args.repo)
    dest = Path(args.dir) if args.dir else bughunt.default_dir(cfg.repo)
    progress = store(console)
    name = bughunt.hunt_name(cfg.repo, dest)
    entry = progress.peek(bughunt.SECTION, name)
    if entry is not None and not (Path(entry.get("dir", "")) / ".walkthrough-copy.json").is_file():
        entry = None                       # the copy was deleted: that hunt is gone
    try:
        if args.kinds:
            return _kinds(cfg, console)
        if args.guess or args.hint or args.reveal or args.watch:
            if entry is None:
                raise UsageError(f"no bug hunt under way in {dest}; start one with: {_command(cfg, dest)}")
            entry = progress.entry(bughunt.SECTION, name)
            if args.guess:
                return _guess(cfg, entry, args.guess, dest, progress, console)
            if args.hint:
                return _hint(cfg, entry, dest, progress, console)
            if args.watch:
                return _watch(cfg, entry, console)
            return _reveal(cfg, entry, dest, progress, console)
        over = entry is not None and (entry.get("found") or entry.get("revealed"))
        if program_args and entry is not None and not args.force and not over:
            raise UsageError("flags after `--` choose the short runs of a new hunt; a hunt is under way: "
                             "add --force to plant a new bug with them")
        if entry is not None and not args.force and not over:
            if args.seed is not None or args.kind:
                console.print(Text.assemble(("A hunt is under way", "bold"), f" in {_shown(dest)}: resuming it. "
                                            "--force plants a new bug with --seed/--kind."))
            return _show(cfg, progress.entry(bughunt.SECTION, name), dest, console, resumed=True)
        return _plant(cfg, dest, args, program_args, progress, console)
    except bughunt.HuntError as exc:
        raise UsageError(str(exc)) from None


def _kinds(cfg, console) -> int:
    from ..practice import bughunt

    found = bughunt.candidates(cfg)
    by_kind: dict[str, list] = {}
    for m in found:
        by_kind.setdefault(m.fault.id, []).append(m)
    console.print(Text.assemble((f"{len(by_kind)} faults apply to {cfg.repo}", "bold"),
                                f" ({len(found)} places in {', '.join(cfg.files)}); a hunt plants one of them, "
                                "once its short runs show it changes the program. A bug whose program dies with a "
                                "Python traceback is planted only when asked for with --kind: the traceback already "
                                "shows where the program broke."))
    from .. import show
    console.print(show.fault_table([(ms[0].fault, len(ms)) for ms in by_kind.values()]))
    return EXIT_OK


def _plant(cfg, dest: Path, args, program_args, progress, console) -> int:
    import secrets
    import time

    from ..lab.runs import RunsInterrupted
    from ..practice import bughunt

    if args.kind is not None:
        kinds = sorted({m.fault.id for m in bughunt.candidates(cfg)})
        if args.kind not in kinds:
            raise bughunt.HuntError(f"fault {args.kind!r} does not apply to {cfg.repo}; the faults that do "
                                    f"(`walkthrough bughunt {cfg.repo} --kinds` describes them): {', '.join(kinds)}")
    seed = args.seed if args.seed is not None else secrets.randbelow(1_000_000)
    run_args = list(program_args) or list(cfg.args)
    console.print(Text.assemble(("Bug hunt: ", "bold magenta"), f"planting a bug in a copy of minimal_impls/{cfg.repo} "
                                f"(seed {seed}). A bug is only planted once its short runs (seeds "
                                f"{', '.join(map(str, cfg.seeds))}) show that it changes the program."))
    started = time.monotonic()
    try:
        entry = bughunt.plant(cfg, dest, progress, seed=seed, args=run_args, kind=args.kind, force=args.force,
                              console=console, jobs=args.jobs)
    except RunsInterrupted:
        console.print("\nInterrupted: nothing was planted. Finished runs are kept and will not run again.")
        return EXIT_INTERRUPTED
    except KeyboardInterrupt:
        console.print("\nInterrupted: nothing was planted.")
        return EXIT_INTERRUPTED
    crashing = entry.get("discarded_crashing", 0)
    if entry["discarded"] - crashing:
        console.print(Text(f"{entry['discarded'] - crashing} candidate bug(s) changed nothing on these seeds and were "
                           "discarded (equivalent mutants are never planted).", style="dim"))
    if crashing:
        console.print(Text(f"{crashing} candidate bug(s) died with a Python traceback and were passed over (planted "
                           "only when asked for with --kind): the crashed runs above were theirs.", style="dim"))
    console.print(Text(f"Planted and verified in {time.monotonic() - started:.0f} s.", style="dim"))
    return _show(cfg, entry, dest, console, resumed=False)


def _show(cfg, entry, dest: Path, console, resumed: bool) -> int:
    from .. import show
    from ..practice import bughunt

    verdict = bughunt.Verdict.from_json(entry["verdict"])
    try:
        healthy, buggy = bughunt.symptom_runs(cfg, bughunt.planted_files(entry), entry["args"], verdict, console)
    except OSError as exc:
        raise bughunt.HuntError(f"the hunt's saved files are missing ({exc}); plant a new one with --force") from None
    png = Path(entry["dir"]) / "symptom.png"
    plot, png_written = _curves(cfg, healthy, buggy, png, console, bughunt.symptom_column(cfg, verdict))
    score = bughunt.score(entry)
    console.print(show.hunt_view(cfg, entry, verdict, plot, _shown(png) if png_written else None, healthy, buggy,
                                 _shown(Path(entry["dir"])), _command(cfg, dest), score, resumed))
    return EXIT_OK


def _curves(cfg, healthy, buggy, png: Path, console, column: str):
    import dataclasses

    from ..lab import plots

    drawable = [dataclasses.replace(r, returncode=0) if r.metrics else r for r in buggy]
    groups = {"healthy": healthy, "with the bug": drawable}
    width = max(40, min(100, console.width - 4))
    plot = plots.curves_terminal(groups, cfg.x, column, width=width, height=16, color=not console.no_color,
                                 title=f"{column}, mean of seeds {', '.join(map(str, cfg.seeds))}")
    try:
        plots.curves_png(groups, cfg.x, column, png, title=f"bug hunt: {cfg.repo}")
        return plot, True
    except Exception:          # the terminal plot is enough; a PNG failure must not end the hunt
        return plot, False


def _guess(cfg, entry, text: str, dest: Path, progress, console) -> int:
    from .. import show
    from ..practice import bughunt

    was_over = entry["found"] or entry["revealed"]
    if bughunt.copy_state(entry) in ("edited", "fixed"):
        console.print(Text(f"(you have edited {entry['file']}: a guess uses the line numbers of the copy as it was "
                           "planted)", style="dim"))
    right = bughunt.guess(entry, text)
    hint = None
    if not right and not was_over:
        hint = bughunt.take_hint(entry, cfg)
    progress.save()
    console.print(show.guess_view(right, text, hint, bughunt.HINT_LEVELS, bughunt.score(entry), was_over,
                                  _command(cfg, dest)))
    return EXIT_OK if right else EXIT_PROGRAM_FAILED


def _hint(cfg, entry, dest: Path, progress, console) -> int:
    from .. import show
    from ..practice import bughunt

    over = entry["found"] or entry["revealed"]
    hint = None if over else bughunt.take_hint(entry, cfg)
    progress.save()
    if hint is None:
        hints = [(level, bughunt.hint_text(entry, level, cfg)) for level in range(1, bughunt.HINT_LEVELS + 1)]
        console.print(show.hints_view(hints, bughunt.HINT_LEVELS, _command(cfg, dest, " --reveal")))
    else:
        console.print(show.hints_view([hint], bughunt.HINT_LEVELS, _command(cfg, dest, " --reveal")))
    return EXIT_OK


def _reveal(cfg, entry, dest: Path, progress, console) -> int:
    from .. import show
    from ..practice import bughunt, faults

    bughunt.reveal(entry)
    progress.save()
    try:
        fault = faults.by_id(entry["fault"])
    except KeyError:
        fault = None
    verdict = bughunt.Verdict.from_json(entry["verdict"])
    try:         # the runs are cached: the final values beside the explanation, so it never claims unqualified harm
        not_worse = bughunt.not_worse(cfg, *bughunt.symptom_runs(cfg, bughunt.planted_files(entry), entry["args"],
                                                                  verdict))
    except (OSError, bughunt.HuntError):
        not_worse = []
    console.print(show.reveal_view(entry, fault, bughunt.diff_text(entry), verdict, bughunt.score(entry),
                                   _command(cfg, dest), cfg.y, not_worse, " ".join(cfg.record_args)))
    if bughunt.copy_state(entry) == "fixed":
        console.print(Text.assemble(("✓ ", "bold green"), f"and your copy's {entry['file']} has the statement as the "
                                    "reference has it: fixed. Run it to see the healthy curve again."))
    return EXIT_OK


def _watch(cfg, entry, console) -> int:
    from .. import show, spec
    from ..practice import checks

    argv = [*entry["args"], "--seed", str(entry["seeds"][0])]
    console.print(Text.assemble("Running ", (f"{_shown(Path(entry['dir']) / cfg.script)} {' '.join(argv)}", "bold"),
                                " with the value checks at every tour step, at its executions 1, 2, 4, 8, ... "
                                "(the same checks as `check` at a stop)."))
    with console.status(Text("running with the checks watching …")):
        result = checks.run_checked_subprocess(cfg.walkthrough, entry["dir"], argv, watch=True)
    walkthrough = spec.load(spec.find(cfg.walkthrough), resolve_anchors=False)
    steps = {s.id: (n, s.title) for n, s in enumerate(walkthrough.steps, start=1)}
    console.print(show.watch_view(result, steps))
    return EXIT_OK
