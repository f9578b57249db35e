"""Issue 20: what the model worker leaves in its job folder is hostile data for the parent and for the trusted trainer.

The submission runs in the model worker, which writes graph.json, inspection.json, their arrays and the event file;
it can rewrite any of them at the very end (submissions/boundary_*.py replace `os._exit`, which the worker calls
last) or append to them while it runs. Whatever those files hold, the grade owes us: no code of theirs runs in the
trainer, and every malformed, over-deep or over-large file ends as a graded error of the submission (score 0, a
one-line message, the JSON report written), never as an exception of the grader (which the command line reports as
its own failure or as a usage error, and a batch as an "internal grader error").

Not marked xfail: these are the acceptance tests of issue 20's typed trust boundary, and each one fails on the
grader before it. Each case is one `api.check` (~5 s), or one quick provisional `api.grade` where the trainer reads
the file. The submissions that break the parent's own reading of source files are written here, not kept as huge
fixtures.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from hostile import SUBMISSIONS, instantiate, new_marker
from test_adv_graph import assert_gains_nothing

TWIN = SUBMISSIONS / "graph_twin.py"  # the model of every boundary_*.py, honestly exported


# --- code in the trusted trainer ---------------------------------------------------------------------------------

def test_a_graph_key_is_never_code_in_the_trainer(check, isolation, tmp_path):
    """The trainer's gradient probe runs the graph in a check too. Under bubblewrap the file lands in the trainer's
    private /tmp, so the printed marker is what shows the code ran."""
    marker = new_marker("fx")
    ran = Path(tempfile.gettempdir()) / f"{marker}.ran"
    try:
        g = check(instantiate("boundary_fx_kwargs.py", tmp_path, MARKER=marker, MARKER_FILE=ran), isolation)
        assert f"{marker} ran" not in g.output and not ran.exists(), "a key of graph.json ran as code in the trusted trainer"
    finally:
        ran.unlink(missing_ok=True)
    assert_gains_nothing(g, check(TWIN, isolation))
