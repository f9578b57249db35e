"""Moodle: a CSV for Grades > Import > CSV file (gradeimport_csv's load_data in moodle/moodle).

Columns: who the student is (with a roster: `Email address` and `ID number`, named as Moodle's own exports name
them, for the columns the roster has; without one: `Student`, the submission's name), the grade (headed by the
assignment's name), and its feedback (`<assignment> (feedback)`). At import, "Map from" the identifier column to
Moodle's user field (email address, ID number, or username), and map the two columns to the grade item and
its feedback ("new grade item" makes one). Moodle refuses the whole file when one row's user is not found, so
students the roster lacks are left out (the batch lists them); it also refuses grades above its grade point
maximum, 100 unless the site raised it.

The feedback says the points per criterion, a provisional run, a borderline grade and whether its seeds are all
in, the flags and the error: what a student needs to read the grade.
"""

from __future__ import annotations

import csv
from pathlib import Path

from grader.batch.csv import inert, points
from grader.batch.roster import Person
from grader.report import json as json_report
from grader.rubric import Rubric

IDENTIFIER_COLUMNS = {"email": "Email address", "sis_id": "ID number"}  # roster column -> Moodle's name for the user field
STUDENT_COLUMN = "Student"  # without a roster


def write(path: str | Path, graded: tuple[tuple[Person, dict], ...], assignment: str, rubric: Rubric) -> None:
    # Every row must name its user: Moodle gives a row with a blank identifier the previous row's user.
    fields = [f for f in IDENTIFIER_COLUMNS if graded and all(getattr(p, f) for p, _ in graded)]
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow([inert(h) for h in ([IDENTIFIER_COLUMNS[f] for f in fields] or [STUDENT_COLUMN]) + [assignment, f"{assignment} (feedback)"]])
        for person, report in graded:
            who = [getattr(person, f) for f in fields] or [person.student]
            writer.writerow([inert(v) for v in who] + [points(report["score"]), inert(feedback(report))])


def feedback(report: dict) -> str:
    parts = [f"{points(report['score'])} / {points(report['max_score'])} points ({report['status']}): "
             + ", ".join(f"{c['id']} {points(c['points'])}/{points(c['max_points'])}" for c in report["criteria"])]
    if report["provisional"]:
        parts.append("PROVISIONAL: this run deviated from the rubric's recipe; its numbers are not the grade")
    state = json_report.borderline_state(report)
    if state == json_report.PENDING:
        parts.append("borderline: more seeds will decide; not final")
    elif state == json_report.BORDERLINE:
        parts.append(f"borderline: the mean of seeds {', '.join(str(s) for s in report['seeds']['seeds'])} decided")
    if report["flags"]:
        parts.append(f"flags: {', '.join(f['id'] for f in report['flags'])}")
    if report["error"]:
        parts.append(f"error: {report['error']['message']}")
    return "; ".join(parts)
