"""The gradebook: one SQLite row per student, submission hash, rubric hash, grader version and run options.

Each finished grade is committed at once, so a batch killed at any moment (even SIGKILL)
loses at most the submissions that were in flight.

Every row carries an HMAC-SHA256 under a key kept beside the database, readable by the grader's
user only (`.gradebook.key`, mode 0600). A row whose MAC does not match was not written by a grader
holding the key (a worker that rewrote the database, say): it counts as not graded, so a resumed
batch grades that student again, and `tampered` names it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import sqlite3
import time
from pathlib import Path

from grader.errors import UsageError

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
    mac TEXT NOT NULL DEFAULT '',    -- HMAC-SHA256 of the row under .gradebook.key
    PRIMARY KEY (student, submission_sha256, rubric_sha256, grader_version, run_options)
)
"""
KEY_FILE = ".gradebook.key"


class Gradebook:
    def __init__(self, path: Path):
        self.key = _key(path.parent / KEY_FILE)
        self.tampered: set[str] = set()  # students whose recorded row failed its MAC
        self.db = sqlite3.connect(path)
        self.db.execute("PRAGMA journal_mode=WAL")  # a killed writer never corrupts committed rows
        self.db.execute(SCHEMA)
        if "mac" not in [column[1] for column in self.db.execute("PRAGMA table_info(grades)")]:  # a gradebook of 0.1.0
            self.db.execute("ALTER TABLE grades ADD COLUMN mac TEXT NOT NULL DEFAULT ''")
        self.db.commit()

    def record(self, student: str, key: tuple[str, str, str, str], report: dict) -> None:
        text = json.dumps(report, allow_nan=False)
        fields = (student, *key, report["status"], report["score"], report["max_score"], text)
        self.db.execute("INSERT OR REPLACE INTO grades VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (*fields, time.strftime("%Y-%m-%dT%H:%M:%S"), self._mac(fields)))
        self.db.commit()

    def report(self, student: str, key: tuple[str, str, str, str]) -> dict | None:
        """The recorded report for this student and key; None if not graded with it yet, or if its row was
        not written by this gradebook's key (then the student is in `tampered`)."""
        row = self.db.execute("SELECT status, score, max_score, report, mac FROM grades WHERE student=? AND submission_sha256=? "
                              "AND rubric_sha256=? AND grader_version=? AND run_options=?", (student, *key)).fetchone()
        if row is None:
            return None
        if not hmac.compare_digest(row[4], self._mac((student, *key, *row[:4]))):
            self.tampered.add(student)
            return None
        return json.loads(row[3])

    def _mac(self, fields: tuple) -> str:
        return hmac.new(self.key, json.dumps([str(f) for f in fields]).encode(), hashlib.sha256).hexdigest()

    def close(self) -> None:
        self.db.close()


def _key(path: Path) -> bytes:
    """The gradebook's key, made on first use: readable and writable by the grader's user only."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except FileExistsError:
        return _read_key(path)
    key = secrets.token_bytes(32)
    try:
        os.write(fd, key)
    finally:
        os.close(fd)
    return key


def _read_key(path: Path) -> bytes:
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    try:
        key = os.read(fd, 64)
    finally:
        os.close(fd)
    if len(key) != 32:
        raise UsageError(f"{path} is not a gradebook key (32 bytes): delete it and regrade with --force")
    return key
