"""Running the learner's program: compiled-in stop points and stepping (stops), code anchors
(anchors, syntax), compact descriptions of live values (values)."""
