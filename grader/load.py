"""The load stage: a submission (.py file, folder, or notebook) -> its source -> the model class.

`resolve_submission` runs in the parent and never executes student code. `import_model_class`
runs in the worker. The rule for choosing the model class, in order:
  1. the class named by --model-class or the rubric's `model_class`;
  2. among the nn.Module subclasses the submission defines, drop those another defined class
     uses (helper blocks, base classes);
  3. if several remain, keep the ones the submission instantiates somewhere (`model = Net()`,
     even in a notebook cell the grader does not run);
  4. exactly one must remain; otherwise the error lists the candidates.
From a notebook only imports, function and class definitions and simple constant assignments
are taken; training loops, downloads, shell escapes (`!pip`) and magics never run.
"""

from __future__ import annotations

import ast
import hashlib
import json
import sys
import types
from dataclasses import dataclass
from pathlib import Path

from grader.errors import SubmissionNotFound

_SKIPPED_NAMES = {"__init__.py", "setup.py", "conftest.py"}


@dataclass(frozen=True)
class Submission:
    path: str  # what the user named
    file: str  # the .py or .ipynb that holds the model
    kind: str  # py | notebook
    sha256: str  # of the file, or of every file in the folder


class LoadError(Exception):
    """The submission cannot be turned into a model class; the message is for the student."""


def resolve_submission(path: str | Path) -> Submission:
    """Find the model file of a submission path, without running anything."""
    path = Path(path)
    if not path.exists():
        raise SubmissionNotFound(f"submission {path} does not exist")
    if path.is_dir():
        file = _model_file_in(path)
        digest = hashlib.sha256()
        for f in sorted(p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
            digest.update(str(f.relative_to(path)).encode() + b"\0" + f.read_bytes())
        sha = digest.hexdigest()
    else:
        if path.suffix not in (".py", ".ipynb"):
            raise SubmissionNotFound(f"submission {path} is not a .py file, a .ipynb notebook or a folder")
        file, sha = path, hashlib.sha256(path.read_bytes()).hexdigest()
    return Submission(str(path), str(file), "notebook" if file.suffix == ".ipynb" else "py", sha)


def _model_file_in(folder: Path) -> Path:
    for preferred in ("model.py", "model.ipynb"):
        if (folder / preferred).is_file():
            return folder / preferred
    for pattern in ("*.py", "*.ipynb"):
        found = sorted(p for p in folder.glob(pattern) if p.name not in _SKIPPED_NAMES)
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            raise SubmissionNotFound(
                f"folder {folder} holds several {pattern[1:]} files ({', '.join(p.name for p in found)}): name one, or call it model{pattern[1:]}"
            )
    raise SubmissionNotFound(f"folder {folder} holds no .py file or notebook")


def import_model_class(file: str, model_class: str = "") -> tuple[type, list[str]]:
    """Execute the submission's source as a module and choose its model class. Worker only.

    Returns the class and notes for the report (imports skipped in a notebook, say).
    """
    import torch.nn as nn

    path = Path(file)
    sys.path.insert(0, str(path.parent))  # a folder submission may import its own helper modules
    module = types.ModuleType("submission")
    module.__file__ = str(path)
    sys.modules["submission"] = module
    notes: list[str] = []
    if path.suffix == ".ipynb":
        chunks, full_source = notebook_chunks(path)
        for code, filename in chunks:
            exec(compile(code, filename, "exec"), module.__dict__)
        notes += [f"skipped import of {name} (not installed)" for name in module.__dict__.get("__skipped_imports__", [])]
    else:
        full_source = path.read_text(encoding="utf-8", errors="replace")
        exec(compile(full_source, str(path), "exec"), module.__dict__)
    defined = {
        name: obj for name, obj in vars(module).items()
        if isinstance(obj, type) and issubclass(obj, nn.Module) and obj.__module__ == "submission"
    }
    return defined[choose_model_class(full_source, list(defined), model_class)], notes


def choose_model_class(source: str, defined: list[str], wanted: str = "") -> str:
    """The documented rule (module docstring) applied to the names of the defined nn.Module classes."""
    if wanted:
        if wanted not in defined:
            raise LoadError(f"no nn.Module class named {wanted!r} in the submission (found: {', '.join(defined) or 'none'})")
        return wanted
    if not defined:
        raise LoadError("the submission defines no nn.Module subclass")
    tree = ast.parse(source)
    used = _used_by_classes(tree, set(defined))
    candidates = [n for n in defined if n not in used]
    if len(candidates) > 1:
        instantiated = {
            n.func.id for n in ast.walk(tree)
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id in candidates
        } - used
        candidates = [n for n in candidates if n in instantiated] or candidates
    if len(candidates) != 1:
        raise LoadError(
            f"cannot tell which class is the model: {', '.join(candidates)}; name it with --model-class or model_class in the rubric"
        )
    return candidates[0]


def _used_by_classes(tree: ast.Module, defined: set[str]) -> set[str]:
    """Defined classes that another defined class uses, directly or through module-level functions
    (`def block(): return ConvBlock(...)` called from Net makes ConvBlock a helper)."""
    top = {n.name: n for n in tree.body if isinstance(n, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))}
    refs = {name: {n.id for n in ast.walk(node) if isinstance(n, ast.Name)} & set(top) for name, node in top.items()}
    used = set()
    for cls in defined & set(top):
        seen, todo = {cls}, list(refs[cls])
        while todo:
            name = todo.pop()
            if name not in seen:
                seen.add(name)
                todo += refs.get(name, ())
        used |= (seen - {cls}) & defined
    return used


def notebook_chunks(path: Path) -> tuple[list[tuple[str, str]], str]:
    """The safe part of a notebook as (code, filename) chunks, and all its code for class choice."""
    try:
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    except (ValueError, KeyError, TypeError) as e:
        raise LoadError(f"{path.name} is not a readable Jupyter notebook ({e})") from None
    chunks, everything = [], []
    for number, cell in enumerate(cells, 1):
        if cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else str(source)
        if source.lstrip().startswith("%%"):  # a cell magic (%%time, %%bash): never run, but it may name the model
            body = source.lstrip().split("\n", 1)[1] if "\n" in source.lstrip() else ""
            if not source.lstrip().startswith(("%%bash", "%%sh", "%%html", "%%javascript", "%%writefile")):
                everything.append(_blank_magics(body) if _parses(_blank_magics(body)) else "")
            continue
        code = _blank_magics(source)
        filename = f"{path.name} [cell {number}]"
        try:
            tree = ast.parse(code, filename)
        except SyntaxError as e:
            raise LoadError(f"syntax error in {filename}, line {e.lineno}: {e.msg}") from None
        everything.append(code)
        kept = [_guard_import(node) if isinstance(node, (ast.Import, ast.ImportFrom)) else node
                for node in tree.body if _is_definition(node) and not _is_future_import(node)]
        if kept:
            chunks.append((ast.Module(body=kept, type_ignores=[]), filename))
    return chunks, "\n".join(everything)


def _blank_magics(source: str) -> str:
    """Shell escapes and line magics become blank lines, so line numbers still match the cell."""
    return "\n".join("" if line.lstrip().startswith(("!", "%")) else line for line in source.splitlines())


def _parses(code: str) -> bool:
    try:
        ast.parse(code)
        return True
    except SyntaxError:
        return False


def _is_future_import(node: ast.stmt) -> bool:
    return isinstance(node, ast.ImportFrom) and node.module == "__future__"  # no-ops in Python 3, and legal only first


def _is_definition(node: ast.stmt) -> bool:
    if isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return True
    if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        try:
            ast.literal_eval(node.value)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            return False
        return all(isinstance(t, ast.Name) for t in targets)
    return False


def _guard_import(node: ast.stmt) -> ast.stmt:
    """`import x` -> try: import x / except ImportError: note it. Notebooks import plotting and
    progress-bar packages the grader does not have; the model rarely needs them."""
    names = ", ".join(a.name for a in node.names) if isinstance(node, ast.Import) else node.module or "."
    handler = ast.parse(f"__skipped_imports__ = globals().get('__skipped_imports__', []) + [{names!r}]").body
    guarded = ast.Try(
        body=[node],
        handlers=[ast.ExceptHandler(type=ast.Name("ImportError", ast.Load()), name=None, body=handler)],
        orelse=[], finalbody=[],
    )
    return ast.fix_missing_locations(ast.copy_location(guarded, node))
