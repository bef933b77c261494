"""Tours generated on the spot for any training script: one short instrumented run (probe), a def-use analysis
of the lines that ran (analysis), steps with titles and explanations built from what is known (describe), and the
walkthrough file that keeps them (generate)."""
