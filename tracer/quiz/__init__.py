"""Questions about code: generated with libcst (questions) and checked without running answers (answers)."""
