"""Room for code that recurses once per level of nesting.

libcst's visitors (and Python's own `copy`, `repr`) recurse once per level of an expression: a 500-term
sum `a0 + a1 + ... + a499` is 500 levels deep and exceeds the default recursion limit, though Python itself
compiles and runs it. `call` runs such work in a thread with a large stack and a raised recursion limit,
so that deep but valid code is analysed rather than refused.
"""
from __future__ import annotations

import sys
import threading

DEPTH = 30_000          # frames: ~40 per level of nesting in libcst leaves room for ~700 levels
STACK_BYTES = 512 * 2 ** 20    # reserved, not used: pages are only touched as deep as the recursion goes


def call(fn, *args, **kwargs):
    """fn(*args, **kwargs) in a thread with room to recurse; its result, or its exception re-raised here."""
    outcome: dict = {}

    def target():
        try:
            outcome["value"] = fn(*args, **kwargs)
        except BaseException as exc:     # handed to the caller's thread
            outcome["error"] = exc

    old_limit, old_stack = sys.getrecursionlimit(), threading.stack_size()
    sys.setrecursionlimit(max(old_limit, DEPTH))
    try:
        threading.stack_size(STACK_BYTES)
        worker = threading.Thread(target=target, name="walkthrough-deep", daemon=True)
        worker.start()
    finally:
        threading.stack_size(old_stack)
    try:
        worker.join()
    finally:
        sys.setrecursionlimit(old_limit)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]
