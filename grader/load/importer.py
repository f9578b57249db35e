"""Worker side of the load stage: import the chosen file as a module of the submission's package.

The submission's folder is importable from its root and from the chosen file's folder (as when the
student ran it there), and every file of it, the chosen one and each one it imports, runs by the
loading rule (grader.load.source): each kept statement on its own, guarded. An import of a package
the grader lacks binds a stand-in that fails clearly only when the model really uses it.
"""

from __future__ import annotations

import ast
import importlib.abc
import importlib.util
import sys
import types
from pathlib import Path

from grader.load.source import LoadError, identifier, read_source, runnable


class MissingPackage(Exception):
    """The model used a name from a package the grader does not have."""


class Missing:
    """Stands in for a name whose import failed: harmless until the model uses it."""

    def __init__(self, name: str, where: str):
        self._name, self._where = name, where

    def _fail(self, *args, **kwargs):
        raise MissingPackage(f"the model uses {self._name}, imported at {self._where}, which the grader does not have: "
                             f"keep the model's code free of it (progress bars, plots and summaries belong outside the model)")

    __call__ = _fail

    def __getattr__(self, attr):
        if attr.startswith("__"):
            raise AttributeError(attr)
        self._fail()

    def __mro_entries__(self, bases):
        self._fail()


# What a kept statement may raise without stopping the load: it refers to something not loaded (a skipped
# statement, a missing package). Anything else (MemoryError, SystemExit, the submission's own exceptions) is an error.
_TOLERATED = (NameError, AttributeError, TypeError, ValueError, KeyError, IndexError, MissingPackage)


class _Loader(importlib.abc.Loader):
    def __init__(self, submission: SubmissionImporter, rel: str):
        self.submission, self.rel = submission, rel

    def exec_module(self, module: types.ModuleType) -> None:
        self.submission.run(self.rel, module)


class SubmissionImporter(importlib.abc.MetaPathFinder):
    """Finds the submission's own modules (before site-packages, as Python would) and loads them by the rule."""

    def __init__(self, root: Path, search: list[Path]):
        self.root, self.search = root.resolve(), [p.resolve() for p in search]
        self.notes: list[str] = []  # the loader's own record; nothing the submission's modules can reach by name
        self.skipped: dict[str, str] = {}  # name -> why the statement defining it failed

    def find_spec(self, name, path, target=None):
        folders = self.search if path is None else [Path(p) for p in path]
        leaf = name.rpartition(".")[2]
        for folder in folders:
            folder = folder.resolve()
            if not folder.is_relative_to(self.root):
                continue
            package, module = folder / leaf, folder / f"{leaf}.py"
            if (package / "__init__.py").is_file():
                return self._spec(name, package / "__init__.py", [str(package)])
            if module.is_file():
                return self._spec(name, module, None)
        for folder in folders:  # a folder without __init__.py is a namespace package, as in Python 3
            if folder.resolve().is_relative_to(self.root) and (folder / leaf).is_dir():
                spec = importlib.util.spec_from_loader(name, None, is_package=True)
                spec.submodule_search_locations = [str(folder / leaf)]
                return spec
        return None

    def _spec(self, name: str, file: Path, locations: list[str] | None):
        rel = file.resolve().relative_to(self.root).as_posix()
        return importlib.util.spec_from_file_location(name, file, loader=_Loader(self, rel), submodule_search_locations=locations)

    def run(self, rel: str, module: types.ModuleType) -> None:
        """Run the file's statements that the loading rule keeps, each guarded, into the module."""
        source = read_source(self.root, rel)
        if source.syntax_error and not source.statements:
            raise LoadError(source.syntax_error)
        for node, filename in source.statements:
            kept = runnable(node)
            where = f"{filename}, line {node.lineno}"
            if kept is None:
                for name in _defined_names(node):  # for the error, should the model need it
                    self.skipped.setdefault(name, f"{where} is not run by the grader (only imports, definitions and "
                                                  f"assignments of plain values are)")
                continue
            code = compile(ast.Module(body=[kept], type_ignores=[]), str(self.root / rel) if filename == rel else filename, "exec")
            try:
                exec(code, module.__dict__)
            except ImportError as e:
                self._stand_in(kept, module, where, e)
            except _TOLERATED as e:  # a definition that refers to what was not loaded matters only if the model needs it
                for name in _defined_names(kept):
                    self.skipped[name] = f"{where} failed: {type(e).__name__}: {str(e)[:200]}"

    def _stand_in(self, node: ast.stmt, module: types.ModuleType, where: str, error: ImportError) -> None:
        names = _defined_names(node)
        package = error.name or (node.module if isinstance(node, ast.ImportFrom) else "") or ", ".join(names)
        self.notes.append(f"skipped import of {package} at {where} (not installed in the grader)")
        for name in names:
            module.__dict__.setdefault(name, Missing(name, where))


def _defined_names(node: ast.stmt) -> list[str]:
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return [a.asname or a.name.split(".")[0] for a in node.names if a.name != "*"]
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [node.name]
    return [n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)]


def import_model_class(root: str, file: str, class_name: str) -> tuple[type, types.ModuleType, SubmissionImporter]:
    """Import `file` (relative to `root`) by the loading rule and return its class `class_name`, the module (where the
    constants the model is built with live), and the importer (its notes for the report, and what it skipped, for errors)."""
    import torch.nn as nn

    root_path = Path(root)
    importer = SubmissionImporter(root_path, [(root_path / file).parent, root_path])
    sys.meta_path.insert(0, importer)
    name = ".".join(Path(file).with_suffix("").parts).removesuffix(".__init__")
    if file.endswith(".py") and name.split(".")[0] not in sys.modules:
        module = importlib.import_module(name)
    else:  # a notebook is no importable module, and a file named like a module already imported (json.py) must not be it
        module = types.ModuleType(identifier(file))
        module.__file__ = str(root_path / file)
        sys.modules[module.__name__] = module
        importer.run(file, module)
    cls = module.__dict__.get(class_name)
    if cls is None or isinstance(cls, Missing):
        why = importer.skipped.get(class_name, "")
        raise LoadError(f"{class_name} in {file} could not be defined" + (f" ({why})" if why else ""))
    if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
        raise LoadError(f"{class_name} in {file} is not an nn.Module subclass")
    return cls, module, importer

