"""The gradebook: one SQLite row per student, submission hash, rubric hash, grader version and run options.

Each finished grade is committed at once, so a batch killed at any moment (even SIGKILL)
loses at most the submissions that were in flight.
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS grades (
    student TEXT NOT NULL,
    submission_sha256 TEXT NOT NULL,
    rubric_sha256 TEXT NOT NULL,
    grader_version TEXT NOT NULL,
    run_options TEXT NOT NULL,       -- '' for the rubric's full recipe, else e.g. 'epochs=1 train_limit=300'
    status TEXT NOT NULL,            -- graded | error
    score REAL NOT NULL,
    max_score REAL NOT NULL,
    report TEXT NOT NULL,            -- the JSON report
    graded_at TEXT NOT NULL,
    PRIMARY KEY (student, submission_sha256, rubric_sha256, grader_version, run_options)
)
"""


class Gradebook:
    def __init__(self, path: Path):
        self.db = sqlite3.connect(path)
        self.db.execute("PRAGMA journal_mode=WAL")  # a killed writer never corrupts committed rows
        self.db.execute(SCHEMA)
        self.db.commit()

    def record(self, student: str, key: tuple[str, str, str, str], report: dict) -> None:
        self.db.execute("INSERT OR REPLACE INTO grades VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (student, *key, report["status"], report["score"], report["max_score"], json.dumps(report),
                         time.strftime("%Y-%m-%dT%H:%M:%S")))
        self.db.commit()

    def report(self, student: str, key: tuple[str, str, str, str]) -> dict | None:
        """The recorded report for this student and key; None if not graded with it yet."""
        row = self.db.execute("SELECT report FROM grades WHERE student=? AND submission_sha256=? AND rubric_sha256=? "
                              "AND grader_version=? AND run_options=?", (student, *key)).fetchone()
        return json.loads(row[0]) if row else None

    def close(self) -> None:
        self.db.close()
