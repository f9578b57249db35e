"""JUnit XML for GitLab, Jenkins and other CI: one test case per rubric criterion.

A failed criterion is a <failure>; in an errored grade every test case carries the <error> (nothing was
scored); a criterion `grader check` does not run is <skipped>. Characters XML 1.0 forbids (a traceback
or printed output may hold any byte) are dropped, so the file always parses.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from grader import __version__
from grader.report.advice import blame, seeds_text
from grader.results import Grade

_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
OUTPUT_CHARS = 20_000  # the tail of what the submission printed, in <system-out>


def render(grade: Grade) -> str:
    seconds = f"{grade.seconds:.3f}"
    suite_name = f"{grade.rubric_title} ({grade.mode})"
    counts = {"tests": len(grade.criteria), "failures": 0, "errors": 0, "skipped": 0}
    suite = ET.Element("testsuite", name=_clean(suite_name), time=seconds)
    properties = ET.SubElement(suite, "properties")
    for name, value in (("score", f"{grade.score:g}"), ("max_score", f"{grade.max_score:g}"), ("status", grade.status),
                        ("passed", str(grade.passed).lower()), ("provisional", "; ".join(grade.provisional)),
                        ("borderline", str(grade.borderline).lower()), ("seeds", seeds_text(grade)),
                        ("submission", grade.submission_path), ("submission_sha256", grade.submission_sha256),
                        ("rubric", grade.rubric_path), ("rubric_sha256", grade.rubric_sha256), ("grader_version", __version__),
                        ("device", grade.environment.device), ("machine_kind", grade.environment.machine_kind),
                        ("cpu", grade.environment.cpu), ("seed", str(grade.environment.seed)),
                        ("isolation", grade.environment.isolation), ("flags", ";".join(f.id for f in grade.flags))):
        ET.SubElement(properties, "property", name=name, value=_clean(value))
    classname = _clean(f"grader.{grade.mode}.{grade.submission_path}")
    for c in grade.criteria:
        case = ET.SubElement(suite, "testcase", classname=classname, name=_clean(c.id), time="0")  # one run judges them all
        points = f"{c.points if grade.score else 0.0:g} / {c.max_points:g} points"
        if grade.error:
            counts["errors"] += 1
            error = ET.SubElement(case, "error", type=_clean(grade.error.stage),
                                  message=_clean(f"{blame(grade.error)}: {grade.error.message}"))
            error.text = _clean(grade.error.traceback or grade.error.message)
        elif not c.ran:
            counts["skipped"] += 1
            ET.SubElement(case, "skipped", message=_clean(c.detail))
        elif not c.passed:
            counts["failures"] += 1
            failure = ET.SubElement(case, "failure", type="criterion", message=_clean(f"{c.detail} ({points})"))
            failure.text = _clean(f"{c.detail}\n{points}")
        borderline = f" | {seeds_text(grade)}" if c.borderline else ""
        ET.SubElement(case, "system-out").text = _clean(f"{points}: {c.detail}{borderline}")
    if grade.output:
        ET.SubElement(suite, "system-out").text = _clean(grade.output[-OUTPUT_CHARS:])
    if grade.provisional:
        ET.SubElement(suite, "system-err").text = _clean("PROVISIONAL: this run deviates from the rubric's recipe ("
                                                         + "; ".join(grade.provisional) + "). Its numbers are not the grade.")
    for key, value in counts.items():
        suite.set(key, str(value))
    root = ET.Element("testsuites", name="grader", time=seconds, **{k: str(v) for k, v in counts.items() if k != "skipped"})
    root.append(suite)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def _clean(text: str) -> str:
    return _NOT_XML.sub("", str(text))
