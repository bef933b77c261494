"""Practice modes built on the tracer: the fault library, implement-it-yourself exercises, bug hunts."""
