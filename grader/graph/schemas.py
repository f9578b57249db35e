"""torch's own schemas of the allowed operations, recorded in schemas.json so that the parent binds every node of
a graph to them without importing torch (a check stays seconds). `python -m grader.graph.schemas` writes the file
from the installed torch; tests/test_graph.py checks that it still matches, and the trainer binds each operation
to the live schema again before it runs it.
"""

from __future__ import annotations

import json
from pathlib import Path

SCHEMAS_FILE = Path(__file__).with_name("schemas.json")


def live_schema(target: str) -> dict:
    """One allowed ATen operation as torch declares it: each argument's name, type, list size, whether it is
    keyword-only and required; the types it returns."""
    import torch

    _, op, overload = target.split(".")
    schema = getattr(getattr(torch.ops.aten, op), overload)._schema
    arguments = [{"name": a.name, "type": str(a.real_type), "size": a.N, "keyword": a.kwarg_only, "required": not a.has_default_value()}
                 for a in schema.arguments]
    return {"arguments": arguments, "returns": [str(r.real_type) for r in schema.returns]}


def live_schemas() -> dict[str, dict]:
    from grader.graph.format import ATEN_OPS

    return {f"aten.{op}": live_schema(f"aten.{op}") for op in sorted(ATEN_OPS)}


if __name__ == "__main__":
    SCHEMAS_FILE.write_text(json.dumps(live_schemas(), indent=1, sort_keys=True) + "\n")
    print(f"wrote {SCHEMAS_FILE}")
