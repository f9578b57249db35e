"""The roster: which LMS user each submission belongs to, for the Canvas and Moodle gradebooks.

A CSV file with a header row. `student` is the submission's name in the class folder (the `student` of
gradebook.csv); then at least one identifier the LMS knows the student by: `email` (Canvas's SIS Login ID, where
students sign in by email; Moodle's email address) or `sis_id` (Canvas's SIS User ID; Moodle's ID number),
filled on every row; and optionally `name`, which Canvas shows and matches on last. Without a roster the submission names are taken to be
the identifiers. A graded student the roster lacks, and a roster entry with no submission, are listed, never
dropped silently.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from grader.errors import UsageError

STUDENT = "student"
IDENTIFIERS = ("email", "sis_id")
COLUMNS = (STUDENT, *IDENTIFIERS, "name")


@dataclass(frozen=True)
class Person:
    student: str  # the submission's name
    email: str = ""
    sis_id: str = ""
    name: str = ""


@dataclass(frozen=True)
class Roster:
    people: tuple[Person, ...]
    path: str


@dataclass(frozen=True)
class Matched:
    """The graded students with the people they are, and who could not be paired."""

    graded: tuple[tuple[Person, dict], ...]  # (person, JSON report), by student
    without_roster: tuple[str, ...] = ()  # graded, but not in the roster: left out of the LMS gradebooks
    without_submission: tuple[str, ...] = ()  # in the roster, but nothing of theirs was graded


def load(path: str | Path) -> Roster:
    """The roster in `path`; UsageError naming the file, the line and what to fix."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:  # -sig: a spreadsheet's byte-order mark
            reader = csv.DictReader(f)
            header = [h.strip() for h in reader.fieldnames or []]
            rows = list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise UsageError(f"cannot read the roster {path}: {e}") from e
    unknown = [h for h in header if h not in COLUMNS]
    if STUDENT not in header or unknown or not set(IDENTIFIERS) & set(header):
        raise UsageError(f"roster {path}: the header must name `{STUDENT}` and at least one of {', '.join(IDENTIFIERS)} "
                          f"(and may name `name`); it has {', '.join(header) or 'nothing'}")
    required = [STUDENT] + [i for i in IDENTIFIERS if i in header]
    people, seen = [], {}
    for line, row in enumerate(rows, start=2):
        person = Person(**{k.strip(): (v or "").strip() for k, v in row.items() if k and k.strip() in COLUMNS})
        if empty := [c for c in required if not getattr(person, c)]:
            raise UsageError(f"roster {path}, line {line}: {', '.join(empty)} is empty (every row fills {', '.join(required)})")
        for key in [(STUDENT, person.student)] + [(i, getattr(person, i)) for i in IDENTIFIERS if getattr(person, i)]:
            if key in seen:
                raise UsageError(f"roster {path}, line {line}: {key[0]} {key[1]!r} is already on line {seen[key]}")
            seen[key] = line
        people.append(person)
    return Roster(tuple(people), str(path))


def match(reports: Iterable[dict], roster: Roster | None) -> Matched:
    """Each report with its person; without a roster, each submission name stands for itself."""
    reports = sorted(reports, key=lambda r: r["student"])
    if roster is None:
        return Matched(tuple((Person(r["student"]), r) for r in reports))
    people = {p.student: p for p in roster.people}
    graded = {r["student"] for r in reports}
    return Matched(tuple((people[r["student"]], r) for r in reports if r["student"] in people),
                   tuple(sorted(graded - people.keys())), tuple(sorted(people.keys() - graded)))
