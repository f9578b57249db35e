"""The Canvas and Moodle gradebooks of `grader batch`, and the roster that says who each submission is."""

import shutil
from pathlib import Path

import pytest
from platform_formats import canvas_import, moodle_import
from synthetic_mnist import write_mnist
from test_report_html import RUBRIC, make_grade

from grader.batch import canvas, moodle, roster
from grader.cli import main
from grader.errors import UsageError
from grader.report import json as json_report

ROOT = Path(__file__).resolve().parent.parent
CLASS = {"alice": "graded", "bob": "error", "carol": "borderline", "dave": "pending", "erin": "provisional"}
ROSTER = ("student,email,sis_id,name\n"
          "alice,alice@uni.edu,S001,\"Liddell, Alice\"\n"
          "bob,bob@uni.edu,S002,Bob Babbage\n"
          "carol,carol@uni.edu,S003,Carol Shannon\n"
          "dave,dave@uni.edu,S004,Dave Turing\n"
          "frank,frank@uni.edu,S006,Frank Hopper\n")  # erin is missing; frank handed nothing in


def reports() -> list[dict]:
    return [{**json_report.to_dict(make_grade(kind)), "student": student} for student, kind in CLASS.items()]


@pytest.fixture
def roster_file(tmp_path) -> Path:
    path = tmp_path / "roster.csv"
    path.write_text(ROSTER)
    return path


def test_the_roster_pairs_each_submission_and_lists_who_is_left(roster_file):
    matched = roster.match(reports(), roster.load(roster_file))
    assert [p.student for p, _ in matched.graded] == ["alice", "bob", "carol", "dave"]
    assert matched.without_roster == ("erin",) and matched.without_submission == ("frank",)
    assert matched.graded[0][0] == roster.Person("alice", "alice@uni.edu", "S001", "Liddell, Alice")


def test_without_a_roster_every_submission_name_stands_for_itself():
    matched = roster.match(reports(), None)
    assert [p for p, _ in matched.graded] == [roster.Person(s) for s in sorted(CLASS)]
    assert matched.without_roster == matched.without_submission == ()


# --- Canvas ----------------------------------------------------------------------------------------------------

def test_canvas_reads_points_possible_and_every_rostered_student(tmp_path, roster_file):
    path = tmp_path / "canvas.csv"
    canvas.write(path, roster.match(reports(), roster.load(roster_file)).graded, "MNIST 99.4 (1234)", RUBRIC)
    read = canvas_import(path)
    assert read["assignments"] == ["MNIST 99.4 (1234)"] and read["points_possible"] == [100.0]
    assert [(s["name"], s["id"], s["sis_user_id"], s["sis_login_id"], s["grades"]) for s in read["students"]] == [
        ("Liddell, Alice", "", "S001", "alice@uni.edu", ["66.25"]), ("Bob Babbage", "", "S002", "bob@uni.edu", ["0"]),
        ("Carol Shannon", "", "S003", "carol@uni.edu", ["90"]), ("Dave Turing", "", "S004", "dave@uni.edu", ["85"])]


def test_canvas_without_a_roster_logs_in_by_the_submission_name(tmp_path):
    path = tmp_path / "canvas.csv"
    canvas.write(path, roster.match(reports(), None).graded, RUBRIC.title, RUBRIC)
    read = canvas_import(path)
    assert [(s["name"], s["sis_login_id"]) for s in read["students"]] == [(s, s) for s in sorted(CLASS)]


def test_a_cell_a_spreadsheet_would_run_is_escaped(tmp_path):
    path = tmp_path / "roster.csv"
    path.write_text("student,email,name\nalice,alice@uni.edu,\"=HYPERLINK(\"\"http://x\"\")\"\n")
    out = tmp_path / "canvas.csv"
    canvas.write(out, roster.match(reports()[:1], roster.load(path)).graded, "@SUM(A1)", RUBRIC)
    read = canvas_import(out)
    assert read["students"][0]["name"] == "'=HYPERLINK(\"http://x\")" and read["assignments"] == ["'@SUM(A1)"]


# --- Moodle ----------------------------------------------------------------------------------------------------

def test_moodle_names_each_user_and_gives_the_grade_its_feedback(tmp_path, roster_file):
    path = tmp_path / "moodle.csv"
    moodle.write(path, roster.match(reports(), roster.load(roster_file)).graded, "MNIST", RUBRIC)
    for identifier in ("Email address", "ID number"):
        rows = moodle_import(path, identifier, "MNIST")
    feedback = {r["Email address"]: r["MNIST (feedback)"] for r in rows}
    assert [(r["Email address"], r["ID number"], r["MNIST"]) for r in rows] == [
        ("alice@uni.edu", "S001", "66.25"), ("bob@uni.edu", "S002", "0"), ("carol@uni.edu", "S003", "90"), ("dave@uni.edu", "S004", "85")]
    assert feedback["alice@uni.edu"].startswith("66.25 / 100 points (graded): accuracy 26.25/50, parameters 20/20")
    assert "flags: unused_layer, weak_isolation" in feedback["alice@uni.edu"]
    assert "error: SyntaxError: invalid syntax (student.py, line 12)" in feedback["bob@uni.edu"]
    assert "borderline: the mean of seeds 1, 2, 3 decided" in feedback["carol@uni.edu"]
    assert "borderline: more seeds will decide; not final" in feedback["dave@uni.edu"]


def test_moodle_without_a_roster_has_one_column_to_map(tmp_path):
    path = tmp_path / "moodle.csv"
    moodle.write(path, roster.match(reports(), None).graded, "MNIST", RUBRIC)
    rows = moodle_import(path, "Student", "MNIST")
    assert [r["Student"] for r in rows] == sorted(CLASS)
    assert "PROVISIONAL" in next(r for r in rows if r["Student"] == "erin")["MNIST (feedback)"]


# --- the roster file -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, words", [
    ("name,email\nAlice,alice@uni.edu\n", "must name `student`"),
    ("student,name\nalice,Alice\n", "at least one of email, sis_id"),
    ("student,mail\nalice,alice@uni.edu\n", "it has student, mail"),
    ("student,email,sis_id\nalice,alice@uni.edu,\n", "line 2: sis_id is empty"),
    ("student,email\nalice,a@uni.edu\nalice,b@uni.edu\n", "line 3: student 'alice' is already on line 2"),
    ("student,email\nalice,a@uni.edu\nbob,a@uni.edu\n", "line 3: email 'a@uni.edu' is already on line 2"),
])
def test_a_bad_roster_names_the_line_and_the_fix(tmp_path, text, words):
    path = tmp_path / "roster.csv"
    path.write_text(text)
    with pytest.raises(UsageError, match=words.replace("(", r"\(")) as raised:
        roster.load(path)
    assert "\n" not in str(raised.value)


def test_a_roster_saved_by_a_spreadsheet_reads_the_same(tmp_path):
    path = tmp_path / "roster.csv"
    path.write_bytes("\ufeffstudent,email\r\nalice,alice@uni.edu\r\n".encode())  # a byte-order mark, CRLF
    assert roster.load(path).people == (roster.Person("alice", "alice@uni.edu"),)


# --- grader batch ----------------------------------------------------------------------------------------------

def test_batch_writes_both_gradebooks_and_lists_who_was_left_out(tmp_path, roster_file, capsys):
    folder = tmp_path / "class"
    folder.mkdir()
    for student in ("alice", "erin"):  # broken submissions: graded errors, in seconds
        shutil.copy(ROOT / "submissions" / "broken" / "syntax_error.py", folder / f"{student}.py")
    files = {name: tmp_path / f"{name}.csv" for name in ("canvas", "moodle")}
    code = main(["batch", str(folder), "--out", str(tmp_path / "out"), "--data-dir", str(write_mnist(tmp_path / "mnist", 600, 100)),
                 "--canvas", str(files["canvas"]), "--moodle", str(files["moodle"]), "--roster", str(roster_file), "--assignment", "MNIST"])
    out = capsys.readouterr().out
    assert code == 0
    assert [(s["sis_login_id"], s["grades"]) for s in canvas_import(files["canvas"])["students"]] == [("alice@uni.edu", ["0"])]
    assert [r["ID number"] for r in moodle_import(files["moodle"], "ID number", "MNIST")] == ["S001"]
    assert "not in the roster, so left out of the LMS gradebooks: erin" in out
    assert "in the roster with no submission: bob, carol, dave, frank" in out


def test_batch_refuses_a_bad_roster_before_grading(tmp_path, capsys):
    (tmp_path / "roster.csv").write_text("student\nalice\n")
    code = main(["batch", str(tmp_path), "--canvas", str(tmp_path / "c.csv"), "--roster", str(tmp_path / "roster.csv")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "roster" in err and not (tmp_path / "c.csv").exists()


def test_a_roster_without_an_lms_gradebook_is_a_usage_error(tmp_path, roster_file, capsys):
    assert main(["batch", str(tmp_path), "--roster", str(roster_file)]) == 2
    assert "--canvas PATH or --moodle PATH" in capsys.readouterr().err
