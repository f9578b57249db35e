"""The platforms' published formats, as the tests hold the grader's files against them: the JSON Schemas in
tests/fixtures/platforms/ (README.md there gives each one's source and date)."""

import json
from pathlib import Path

import jsonschema

PLATFORMS = Path(__file__).resolve().parent / "fixtures" / "platforms"


def schema_errors(name: str, document: dict) -> list[str]:
    """Every way `document` breaks tests/fixtures/platforms/<name>.schema.json, as "path: message" lines."""
    schema = json.loads((PLATFORMS / f"{name}.schema.json").read_text())
    validator = jsonschema.Draft202012Validator(schema)
    return [f"{'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}" for e in validator.iter_errors(document)]
