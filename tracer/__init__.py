"""walkthrough: step through small real ML codebases with a debugger and answer questions about each line."""
__version__ = "0.1.0"
