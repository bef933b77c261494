"""`walkthrough experiment NAME --set FLAG=V1,V2 --seeds N`: run the variants over seeds, see the curves."""
from __future__ import annotations

from rich.text import Text

from . import EXIT_INTERRUPTED, EXIT_OK, EXIT_PROGRAM_FAILED, UsageError, subparser
from .start import seconds

EXAMPLES = """\
  walkthrough experiment ppo --set gae-lambda=0.0,0.8,1.0 --seeds 3
  walkthrough experiment ppo --set no-norm-adv --seeds 5 --steps 30000      # a switch against the default
  walkthrough experiment mlp --set hidden=4,16,64 --set lr=0.01,0.1          # a grid: 3 × 2 variants
  walkthrough experiment mlp --set "hidden=16 16,64 64"                      # a flag that takes several words
  walkthrough experiment ppo --code walkthrough-work/ppo --seeds 3           # your edited copy vs the reference
"""


def add_parser(sub, name: str) -> None:
    parser = subparser(
        sub, name, help="run variants of a setting over several seeds and compare their learning curves",
        description="Change one idea, run every variant over several seeds in parallel, and compare: learning\n"
                    "curves (PNG and terminal), a table with 95 % bootstrap CIs and a verdict that claims only\n"
                    "what the intervals show. Names are the script's own flags (python train.py --help).\n"
                    "A run already finished with the same code, flags and seed is never run again.\n\n" + EXAMPLES)
    parser.add_argument("name", help="a walkthrough with an [experiment] table: ppo or mlp")
    parser.add_argument("--set", dest="sets", action="append", default=[], metavar="FLAG=V1,V2",
                        help="a flag of the script and the values to try (a switch alone: without vs with it); "
                             "repeat for a grid; a value with spaces gives several words")
    parser.add_argument("--seeds", type=int, default=3, metavar="N", help="seeds 1..N for every variant (default 3)")
    parser.add_argument("--steps", type=int, metavar="N",
                        help="training budget (ppo: env steps, --total-timesteps; mlp: epochs, --epochs); "
                             "default: the walkthrough's")
    parser.add_argument("--code", action="append", default=[], metavar="DIR",
                        help="also run this copy of the repo (e.g. walkthrough-work/ppo) and compare it "
                             "with the reference; repeatable")
    parser.add_argument("--out", metavar="DIR",
                        help="the experiment's folder (default walkthrough-work/experiments/<name>/)")
    parser.add_argument("--dry-run", action="store_true", help="show the trials and the time estimate, run nothing")
    parser.add_argument("--jobs", type=int, metavar="N", help="runs at once (default: the machine's cores)")
    parser.add_argument("--timeout", type=seconds, metavar="S", help="stop a run after S seconds (reported as failed)")


def run(args, program_args, console) -> int:
    from .. import spec
    from ..lab import experiments, report
    from ..lab.runs import RunsInterrupted

    if args.jobs is not None and args.jobs < 1:
        raise UsageError(f"--jobs {args.jobs}: give 1 or more")
    walkthrough = spec.load(spec.find(args.name), resolve_anchors=False)
    try:
        plan = experiments.plan(walkthrough, args.sets, args.seeds, args.steps, args.code, args.out, args.jobs)
    except experiments.ExperimentError as exc:
        raise UsageError(str(exc)) from None
    console.print(report.preview(plan))
    if args.dry_run:
        return EXIT_OK
    try:
        grouped = experiments.execute(plan, console, timeout=args.timeout)
    except RunsInterrupted as exc:
        kept = len(exc.results)
        console.print(Text.assemble(("\nInterrupted. ", "bold"), f"{kept} finished run{'s are' if kept != 1 else ' is'} "
                                    "kept in ", (str(plan.root), "cyan"), "; the same command runs only the rest."))
        return EXIT_INTERRUPTED
    outcomes = experiments.analyse(plan, grouped)
    for shown in report.failures(outcomes):
        console.print(shown)
    csv_path = experiments.write_csv(plan, outcomes, grouped)
    png_path = experiments.write_png(plan, grouped)
    _terminal_plot(plan, grouped, console)
    console.print(report.results_table(plan, outcomes))
    console.print(report.verdict_view(experiments.verdict(plan, outcomes)))
    console.print(Text.assemble("curves: ", (str(png_path), "cyan"), "   one row per run: ", (str(csv_path), "cyan")))
    return EXIT_PROGRAM_FAILED if any(o.failed for o in outcomes) else EXIT_OK


def _terminal_plot(plan, grouped, console) -> None:
    from ..lab.experiments import groups_for_plots
    from ..lab.plots import curves_terminal

    color = console.is_terminal and not console.no_color
    text = curves_terminal(groups_for_plots(grouped), plan.setup.x, plan.setup.y, width=min(console.width - 1, 100),
                           height=18, color=color, title=f"mean {plan.setup.y_label} over seeds")
    console.print(Text.from_ansi(text) if color else Text(text))
