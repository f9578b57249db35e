"""Canvas: the gradebook CSV that Grades > Import reads (GradebookImporter in instructure/canvas-lms).

Canvas recognizes the header `Student, ID, SIS User ID, SIS Login ID, Section` followed by one column per
assignment, and a `Points Possible` row under it. It finds each student by Canvas ID, then SIS User ID, then SIS
Login ID, then name: here ID is left empty (the grader does not know it), SIS User ID is the roster's `sis_id`,
SIS Login ID the roster's `email` (or, without a roster, the submission's name), and Student the roster's `name`
(or the submission's name). The assignment column names an existing assignment by its title, or by
`Title (1234)` with its Canvas id; any other name makes a new one. The score is the grade's points; an errored
submission scores 0.
"""

from __future__ import annotations

import csv
from pathlib import Path

from grader.batch.csv import inert, points
from grader.batch.roster import Person
from grader.rubric import Rubric

STUDENT_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
POINTS_POSSIBLE = "Points Possible"


def write(path: str | Path, graded: tuple[tuple[Person, dict], ...], assignment: str, rubric: Rubric) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow([inert(h) for h in (*STUDENT_COLUMNS, assignment)])
        writer.writerow([POINTS_POSSIBLE, "", "", "", "", points(rubric.max_score)])
        for person, report in graded:
            login = person.email if (person.email or person.sis_id) else person.student  # no roster: the name is the login
            writer.writerow([inert(v) for v in (person.name or person.student, "", person.sis_id, login, "")] + [points(report["score"])])
