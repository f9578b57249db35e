"""The two workers, one on each side of the trust boundary, each in a sandboxed process of its own
(grader.sandbox runs them; grader.protocol is their vocabulary with the parent).

`model`: untrusted; runs the student's code to load, build, trace and export the model.
`trainer`: trusted; never sees the student's files; rebuilds the typed graph the parent wrote, probes,
trains and predicts. `process` is the entry point both run under, and their way of reporting a failure.
"""
