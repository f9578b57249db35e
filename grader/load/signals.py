"""Which version the student meant: the signals that tell versions of one model apart, strongest first.

Read as text in the parent, never run (README, "Which class is the model"). Each signal keeps the versions it
prefers and passes them to the next; the first that leaves one model decides:
  readme    a README, or a notebook's markdown, names one version's file or class beside a word that says it is
            the one (final, best, submission, submitted);
  name      names that say so: final, best, submission before unmarked names, before baseline, starter, draft,
            old, test, backup;
  file      where it is built: a notebook before a script (where students train and keep their results); with
            nothing built, a module before a notebook, and model.py (models, net, network) before other names;
  number    version numbers compared as numbers, between names that differ only by them: v2 < v10, Step2 < Step3,
            S7_2 < S7_3_1, First < Second;
  position  built (or defined) later in the one file that holds them all.
Names are compared class name first, then the file that builds the version, then the file that defines it.
What none of them tells apart is a tie: the grader checks each tied version (grader.tiebreak, `structure`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath

README, NAME, FILE, NUMBER, POSITION = "readme", "name", "file", "number", "position"  # the signal that decided
STRUCTURE, ORDER = "structure", "order"  # the tied versions' structural check (grader.tiebreak); nothing told them apart

FINAL_WORDS = ("final", "best", "submission", "submitted")
OLD_WORDS = ("baseline", "starter", "draft", "old", "test", "backup")
MAX_PROSE_CHARS = 1 << 20  # of each README or notebook's markdown: what is past it is not read
ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth")


@dataclass(frozen=True)
class Version:
    """One way the submission builds (or defines) one candidate class."""

    key: tuple[str, str]  # the (file, class) it is
    names: tuple[str, str, str]  # the class, the file that builds it ("" when nothing does), the file that defines it
    file_rank: tuple[bool, ...]  # the `file` signal's preference, larger first
    file: str  # the file `position` counts in: the one that builds it, else the one that defines it
    position: tuple[int, int, int]  # statement, line, column there: later is newer


@dataclass(frozen=True)
class Document:
    """Prose the student wrote about the submission: a README, or a notebook's markdown cells."""

    name: str  # "README.md", "S6.ipynb's markdown"
    text: str


def narrow(versions: list[Version], documents: list[Document]) -> tuple[list[Version], str, str]:
    """The versions every signal in turn keeps, the signal that left one model ("" when none did) and why, in words."""
    for signal, keep in ((README, lambda vs: _named_final(vs, documents)), (NAME, _marked), (FILE, _by_file),
                         (NUMBER, _numbered), (POSITION, _later)):
        versions, why = keep(versions)
        if len({v.key for v in versions}) == 1:
            return versions, signal, why
    return versions, "", ""


def _named_final(versions: list[Version], documents: list[Document]) -> tuple[list[Version], str]:
    """The versions a sentence of the student's prose names, alone among them, beside a word that says final."""
    names = _unique_names(versions)
    voted, source = set(), ""
    for document in documents:
        for sentence in re.split(r"(?<=[.!?])\s+|\n", document.text[:MAX_PROSE_CHARS]):
            named = {key for name, key in names.items() if _mentions(sentence, name)}
            if len(named) != 1:
                continue
            rest = sentence
            for name in names:
                rest = re.sub(_word(name), " ", rest, flags=re.IGNORECASE)
            if any(word in FINAL_WORDS for word in _words(rest)):
                voted |= named
                source = source or document.name
    kept = [v for v in versions if v.key in voted]
    return (kept, f"{source} names it as the final one") if kept else (versions, "")


def _unique_names(versions: list[Version]) -> dict[str, tuple[str, str]]:
    """Each name (class, file, file stem) that belongs to one model's versions alone, and that model. Only names
    written like code count (a digit, `_`, `.` or a capital inside: `Net3`, `model_v3`, `GBNnet`): "the best model"
    is no mention of model.py."""
    owners: dict[str, set] = {}
    for v in versions:
        for name in v.names:
            base = PurePosixPath(name).name
            for form in {name, base, _bare(base)} if name else ():
                if re.search(r"[\d_.]|[a-z][A-Z]|[A-Z]{2}", form):
                    owners.setdefault(form.lower(), set()).add(v.key)
    return {name: next(iter(keys)) for name, keys in owners.items() if len(keys) == 1}


def _mentions(sentence: str, name: str) -> bool:
    return re.search(_word(name), sentence, flags=re.IGNORECASE) is not None


def _word(name: str) -> str:
    return rf"(?<![\w]){re.escape(name)}(?![\w])"


def _words(name: str) -> list[str]:
    """`EVAS4_First_Iteration` -> evas, 4, first, iteration; `FinalNet` -> final, net."""
    return [w.lower() for w in re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+", name)]


def _mark(name: str) -> int:
    words = _words(_bare(name))
    return 2 if any(w in FINAL_WORDS for w in words) else 0 if any(w in OLD_WORDS for w in words) else 1


def _marked(versions: list[Version]) -> tuple[list[Version], str]:
    why = ""
    for level in range(3):
        best = max(_mark(v.names[level]) for v in versions)
        kept = [v for v in versions if _mark(v.names[level]) == best]
        if len(kept) < len(versions):
            versions = kept
            why = f"its name says so ({kept[0].names[level]})" if best == 2 else "the others' names mark them as old or drafts"
    return versions, why


def _by_file(versions: list[Version]) -> tuple[list[Version], str]:
    best = max(v.file_rank for v in versions)
    kept = [v for v in versions if v.file_rank == best]
    return kept, ("built in a notebook, the others in scripts" if kept[0].names[1]
                  else "defined in a .py module, model.py before other names")


def _bare(name: str) -> str:
    """A file's path without its suffix (folders count: `old/model.py`); a class name as it is."""
    return re.sub(r"\.(py|ipynb)$", "", name)


def _series(name: str) -> tuple[str, tuple[int, ...]] | None:
    """The name with its numbers (ordinal words included) taken out, the trailing ones dropped, and those numbers:
    `S7_3_1` -> ("s", (7, 3, 1)); `EVAS4_Second_Iteration` -> ("evas#_#_iteration", (4, 2)); None for no name."""
    if not name:
        return None
    text = re.sub(r"(?<![a-z])(" + "|".join(ORDINALS) + r")(?![a-z])", lambda m: str(ORDINALS.index(m.group(1)) + 1),
                  _bare(name).lower())
    return re.sub(r"[\W_#]*$", "", re.sub(r"\d+", "#", text)), tuple(int(n) for n in re.findall(r"\d+", text))


def _numbered(versions: list[Version]) -> tuple[list[Version], str]:
    why = ""
    for level in range(3):
        series = [_series(v.names[level]) for v in versions]
        kept = [v for v, mine in zip(versions, series, strict=True)
                if not (mine and any(other and other[0] == mine[0] and other[1] > mine[1] for other in series))]
        if len(kept) < len(versions):
            versions = kept
            why = f"the highest version number ({kept[0].names[level]})"
    return versions, why


def _later(versions: list[Version]) -> tuple[list[Version], str]:
    files = {v.file for v in versions}
    if len(files) != 1:
        return versions, ""
    last = max(v.position for v in versions)
    return [v for v in versions if v.position == last], f"the last built in {files.pop()}"
