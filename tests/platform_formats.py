"""The platforms' published formats, as the tests hold the grader's files against them: the JSON Schemas in
tests/fixtures/platforms/, and the rules the LMSs' CSV importers apply (README.md there gives each one's source)."""

import csv
import json
import re
from pathlib import Path

import jsonschema

PLATFORMS = Path(__file__).resolve().parent / "fixtures" / "platforms"


def schema_errors(name: str, document: dict) -> list[str]:
    """Every way `document` breaks tests/fixtures/platforms/<name>.schema.json, as "path: message" lines."""
    schema = json.loads((PLATFORMS / f"{name}.schema.json").read_text())
    validator = jsonschema.Draft202012Validator(schema)
    return [f"{'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}" for e in validator.iter_errors(document)]


def canvas_import(path: Path) -> dict:
    """What Canvas's gradebook import (GradebookImporter in instructure/canvas-lms) reads from a CSV, asserting the
    rules it applies: the student columns the header must start with, the `Points Possible` row, numeric grades."""
    with open(path, newline="", encoding="utf-8") as f:
        header, *rows = list(csv.reader(f))
    # row_has_student_headers and update_column_count: Student, ID, then SIS User ID and SIS Login ID, and the last
    # student column must be Section; everything after it is an assignment.
    assert len(header) > 3 and "Student" in header[0] and "ID" in header[1], header
    assert re.match(r"SIS\s+User\s+ID", header[2]) and re.match(r"SIS\s+Login\s+ID", header[3]), header
    assert "Section" in header[4], header
    assignments = header[5:]
    points_rows = [r for r in rows if "Points Possible" in r[0]]
    assert len(points_rows) == 1 and all(len(r) == len(header) for r in rows)
    students = [r for r in rows if r is not points_rows[0]]
    for r in students:
        assert all(re.fullmatch(r"-?\d+(\.\d+)?|EX|", grade) for grade in r[5:]), r  # a number, excused, or no change
    return {"assignments": assignments, "points_possible": [float(v) for v in points_rows[0][5:]],
            "students": [dict(zip(("name", "id", "sis_user_id", "sis_login_id", "section"), r[:5], strict=True), grades=r[5:]) for r in students]}


def moodle_import(path: Path, identifier: str, grade: str) -> list[dict]:
    """The rows Moodle's CSV grade import (gradeimport_csv_load_data in moodle/moodle) reads, mapping `identifier` to a
    user field and `grade` to a grade item, asserting what it needs: every row names its user (a blank one gets the
    previous row's), and each grade is empty, '-', or a number no larger than the default grade point maximum, 100."""
    with open(path, newline="", encoding="utf-8") as f:
        header, *rows = list(csv.reader(f))
    header = [h.strip() for h in header]
    assert identifier in header and grade in header and len(set(header)) == len(header), header
    records = [dict(zip(header, (v.strip() for v in r), strict=True)) for r in rows]
    for record in records:
        assert record[identifier], record
        assert record[grade] in ("", "-") or 0 <= float(record[grade]) <= 100, record
    return records
