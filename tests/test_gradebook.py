"""The gradebook's rows carry an HMAC under a key only the grader's user can read: a row it did not
write is not trusted (a resumed batch grades that student again)."""

import sqlite3
import stat

from grader.batch.gradebook import KEY_FILE, Gradebook

KEY = ("sha-sub", "sha-rubric", "0.1.0", "")
REPORT = {"status": "graded", "score": 80.0, "max_score": 100.0, "student": "alice"}


def test_rows_it_wrote_are_trusted_after_reopening(tmp_path):
    book = Gradebook(tmp_path / "gradebook.sqlite")
    book.record("alice", KEY, REPORT)
    book.close()
    again = Gradebook(tmp_path / "gradebook.sqlite")
    assert again.report("alice", KEY) == REPORT and not again.tampered
    assert stat.S_IMODE((tmp_path / KEY_FILE).stat().st_mode) == 0o600


def test_a_changed_or_inserted_row_is_not_trusted(tmp_path):
    book = Gradebook(tmp_path / "gradebook.sqlite")
    book.record("alice", KEY, REPORT)
    book.record("bob", KEY, {**REPORT, "student": "bob"})
    db = sqlite3.connect(tmp_path / "gradebook.sqlite")
    db.execute("UPDATE grades SET score = 0, report = '{\"score\": 0}' WHERE student = 'alice'")
    db.execute("INSERT INTO grades SELECT 'mallory', submission_sha256, rubric_sha256, grader_version, run_options, status, "
               "100, max_score, report, graded_at, mac FROM grades WHERE student = 'bob'")  # bob's MAC does not fit mallory
    db.commit()
    assert book.report("alice", KEY) is None and book.report("mallory", KEY) is None
    assert book.report("bob", KEY)["student"] == "bob"
    assert book.tampered == {"alice", "mallory"}


def test_a_gradebook_of_the_previous_version_is_graded_again(tmp_path):
    db = sqlite3.connect(tmp_path / "gradebook.sqlite")
    db.execute("CREATE TABLE grades (student TEXT NOT NULL, submission_sha256 TEXT NOT NULL, rubric_sha256 TEXT NOT NULL, "
               "grader_version TEXT NOT NULL, run_options TEXT NOT NULL, status TEXT NOT NULL, score REAL NOT NULL, "
               "max_score REAL NOT NULL, report TEXT NOT NULL, graded_at TEXT NOT NULL, "
               "PRIMARY KEY (student, submission_sha256, rubric_sha256, grader_version, run_options))")
    db.execute("INSERT INTO grades VALUES ('alice', ?, ?, ?, ?, 'graded', 80, 100, '{}', 'then')", KEY)
    db.commit()
    book = Gradebook(tmp_path / "gradebook.sqlite")  # no MAC column yet: added, and the old row is not trusted
    assert book.report("alice", KEY) is None
    book.record("alice", KEY, REPORT)
    assert book.report("alice", KEY) == REPORT
