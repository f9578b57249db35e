"""Which class is the model, and how the student built it: one rule across the submission's files, read as text, never run.

The rule (README, "Which class is the model"), in order:
  1. the class named by --model-class or the rubric's `model_class` (`Net`, `model_v3.py:Net`, `Net2(drop=0.01)`);
  2. the classes the folder's notebooks and scripts import from its other files and instantiate
     (directly, through an alias, a module attribute or a factory function like `get_model()`);
  3. the classes instantiated in the file that defines them;
  4. every candidate: an nn.Module subclass that no other class uses (helper blocks and base classes are not the
     model), preferring those that define `forward` and build with no arguments.
The first step that finds any decides. A notebook's own copy of a class that a `.py` module of the folder defines
too gives way to the module's; a notebook export beside its notebook is not read. Several classes at the deciding
step: if they are versions of one model (the same name, or names that differ by a number or a prefix: Net1/Net3,
Model_1/Model_3, BNnet/GBNnet), grader.load.signals tells them apart (a README, the names, the kind of file, version
numbers, the position in one file) and the grade is flagged `model_class_guessed`; versions nothing tells apart are
`tied`, for the structural check (grader.tiebreak); unrelated classes are an error listing every candidate.
The model is built with the arguments of the call that builds it, where that call is in the student's files
(grader.load.arguments): the last call that assigns the model to a name, else the last call.
"""

from __future__ import annotations

import ast
import dataclasses
import re
from dataclasses import dataclass
from pathlib import PurePosixPath

from grader.errors import UsageError
from grader.load import signals
from grader.load.arguments import calls_in, copy_call, literal, parse_option
from grader.load.signals import Document, Version
from grader.load.source import EXPORT, MODULE, NOTEBOOK, LoadError, SourceFile, dotted_name, runnable
from grader.results import Argument, ConstructorCall, ModelChoice

OPTION, IMPORTED, INSTANTIATED, DEFINED = "option", "imported", "instantiated", "defined"  # the step that decided
_MODEL_STEMS = ("model", "models", "net", "network")
_OPTION_WHERE = "--model-class or the rubric's model_class"


@dataclass(frozen=True)
class _Class:
    file: str
    name: str
    kind: str  # of its file: MODULE | NOTEBOOK | EXPORT
    node: ast.ClassDef
    index: int  # of its statement in the file


@dataclass(frozen=True)
class _Call:
    target: tuple[str, str]  # (file, class) instantiated
    importer: str  # the file the call is in
    order: tuple[int, int, int]  # statement, line, column: later calls are newer
    imported: bool  # the class comes from another file of the folder
    through_copy: bool  # the call builds the file's own copy of the class, which gives way to the module's
    node: ast.Call
    where: str  # "S6.ipynb [cell 7], line 2"
    assigned: bool  # its result is assigned to a name (`model = Net().to(device)`): the model that is trained
    local: frozenset[str]  # names the enclosing functions bind: never module-level constants
    via: tuple[str, str] | None  # the folder's function the call goes through (`get_model()`), else None


def choose_model(sources: list[SourceFile], wanted: str = "", documents: list[Document] | None = None) -> ModelChoice:
    """The model class of a submission by the rule above; LoadError when it cannot be told, UsageError for a
    `wanted` that is no class name."""
    sources = _without_stale_exports(sources)
    folder = _Folder(sources)
    modules = [c for c in folder.classes.values() if folder.is_module(c)]
    if not modules:
        broken = [s.syntax_error for s in sources if s.syntax_error]
        raise LoadError(broken[0] if broken else "the submission defines no nn.Module subclass")
    label = _labeller(modules)
    file, name, option = _parse_wanted(wanted)
    if wanted:
        matches = [c for c in modules if c.name == name and (not file or file in (c.file, PurePosixPath(c.file).name))]
        if not matches:
            named = f"{file}:{name}" if file else name
            raise LoadError(f"no nn.Module class named {named!r} in the submission (found: {', '.join(map(label, modules))})")
        candidates, copy_of = matches, {}
    else:
        candidates, copy_of = folder.candidates(modules)
    calls = folder.calls(candidates, copy_of)
    decide = _Decision(folder, label, documents or [], option)
    if wanted and len(candidates) == 1:
        return decide(_built(folder, calls) or [_defined(candidates[0])], OPTION, calls, f"named by {_OPTION_WHERE}")
    for rule, step in ((IMPORTED, [c for c in calls if c.imported]), (INSTANTIATED, [c for c in calls if not c.imported])):
        if step:
            return decide(_built(folder, step), rule, step)
    if folder.broken_imports:
        raise LoadError(folder.broken_imports[0])
    return decide([_defined(c) for c in candidates], DEFINED, [])


def _parse_wanted(wanted: str) -> tuple[str, str, ast.Call | None]:
    """(file, class, the call to build it with) of `model_v3.py:Net2(drop=0.01)`; the call is None without arguments."""
    head, paren, rest = wanted.partition("(")
    file, _, name = head.strip().rpartition(":")
    try:
        return file, name, parse_option(name + paren + rest) if paren else None
    except ValueError:
        raise UsageError(f"--model-class {wanted!r} is not CLASS, FILE:CLASS or CLASS(arguments) with literal arguments "
                         f"(for example Net2(drop=0.01))") from None


def _built(folder: _Folder, calls: list[_Call]) -> list[Version]:
    """One version per class and file that builds it: the names the signals read, and its newest call there."""
    newest: dict[tuple, _Call] = {}
    for c in calls:
        if (c.target, c.importer) not in newest or c.order > newest[(c.target, c.importer)].order:
            newest[(c.target, c.importer)] = c
    return [Version(c.target, (c.target[1], c.importer, c.target[0]), (folder.kinds[c.importer] == NOTEBOOK,), c.importer, c.order)
            for c in newest.values()]


def _defined(c: _Class) -> Version:
    """A version nothing builds: modules before notebooks, and a file named model.py before other names."""
    return Version((c.file, c.name), (c.name, "", c.file), (c.kind == MODULE, PurePosixPath(c.file).stem.lower() in _MODEL_STEMS),
                   c.file, (c.index, c.node.lineno, 0))


def _newest(v: Version) -> tuple:
    """What is left when no signal tells versions apart: the last by file name, then by position."""
    return v.file_rank, v.file, v.position


class _Decision:
    """The choice among the versions the deciding step found: the signals, then the tie; each with how it is built."""

    def __init__(self, folder: _Folder, label, documents: list[Document], option: ast.Call | None):
        self.folder, self.label, self.documents, self.option = folder, label, documents, option

    def __call__(self, versions: list[Version], rule: str, calls: list[_Call], reason: str = "") -> ModelChoice:
        keys = list(dict.fromkeys(v.key for v in versions))
        found = [self.folder.classes[k] for k in keys]
        if len(found) > 1 and not _versions([c.name for c in found]):
            listed = ", ".join(self.label(c) for c in found)
            raise LoadError(f"cannot tell which class is the model: {listed}; name it with --model-class "
                            f"(for example --model-class {self.label(found[-1])}) or model_class in the rubric")
        left, signal, why = signals.narrow(versions, self.documents) if len(keys) > 1 else (versions, "", "")
        ranked = list(dict.fromkeys(v.key for v in sorted(left, key=_newest, reverse=True)))  # the last resort's order
        tied = tuple(self._choice(k, found, left, rule, calls, reason) for k in ranked)
        if len(tied) > 1:
            signal, why = signals.ORDER, (f"no signal tells it from {', '.join(f'{t.file}:{t.model_class}' for t in tied[1:])}: "
                                          f"the last by file name and position")
        return dataclasses.replace(tied[0], reason=tied[0].reason + (f"; {why}" if why else ""),
                                   signal=OPTION if rule == OPTION else signal, tied=tied if len(tied) > 1 else ())

    def _choice(self, key, found, left, rule, calls, reason) -> ModelChoice:
        """The version `key` as it would be chosen at this step: its reason before any signal, and how it is built."""
        cls = self.folder.classes[key]
        others = tuple(self.label(c) for c in found if c is not cls)
        builders = sorted({c.importer for c in calls if c.target == key})
        if not reason:
            reason = (f"imported and instantiated by {', '.join(builders)}" if rule == IMPORTED
                      else f"instantiated in {', '.join(builders)}" if rule == INSTANTIATED
                      else "the only nn.Module class that no other class uses" if not others else "defined, and built nowhere")
            if any(c.through_copy for c in calls if c.target == key):
                reason += f", as a copy of {key[0]}'s class"
        constructor, note = self._constructor(key, left, calls)
        return ModelChoice(cls.file, cls.name, rule, reason, bool(others) and rule != OPTION, others, "", constructor,
                           (note,) if note else ())

    def _constructor(self, key, left: list[Version], calls: list[_Call]) -> tuple[ConstructorCall | None, str]:
        """The option's call, else the call that builds the model in the file the signals kept (the last one that
        assigns it to a name, else the last); None when it passes no arguments, with why when they cannot be copied."""
        if self.option is not None:
            constructor, why = copy_call(self.option, _OPTION_WHERE, lambda name: self.folder.constant(key[0], name, key[0]))
            if why:
                raise UsageError(f"--model-class {ast.unparse(self.option)}: give literal arguments or names of the model "
                                 f"file's module-level constants")
            return constructor, ""
        kept = [v for v in left if v.key == key]
        builder = max(kept, key=_newest).file if kept else ""
        mine = [c for c in calls if c.target == key and c.importer == builder]
        if not mine:
            return None, ""
        best = max(mine, key=lambda c: (c.assigned, c.order))
        direct = self.folder.direct_call(best, key)
        if direct is None:
            return None, ""
        call, where, file, local = direct
        return copy_call(call, where, lambda name: self.folder.constant(file, name, key[0], local))


def _versions(names: list[str]) -> bool:
    """Versions of one model: names equal, or one inside all others, once case, numbers and `_` are ignored."""
    stems = [re.sub(r"[^a-z]", "", re.sub(r"v?\d+", "", n.lower())) or n.lower() for n in names]
    shortest = min(stems, key=len)
    return all(shortest in s for s in stems)


def _labeller(classes: list[_Class]):
    """`file:Class` when classes come from several files; plain `Class` when there is only one file."""
    single = len({c.file for c in classes}) == 1
    return lambda c: c.name if single else f"{c.file}:{c.name}"


def _without_stale_exports(sources: list[SourceFile]) -> list[SourceFile]:
    """A `.py` written from a notebook that is handed in too is an old copy of it: the notebook counts."""
    notebooks = {str(PurePosixPath(s.path).with_suffix("")) for s in sources if s.kind == NOTEBOOK}
    return [s for s in sources if not (s.kind in (EXPORT, MODULE) and str(PurePosixPath(s.path).with_suffix("")) in notebooks)]


class _Folder:
    """The facts the rule reads, over every file: classes, functions and what each local name is bound to."""

    def __init__(self, sources: list[SourceFile]):
        self.sources = {s.path: s for s in sources}
        self.kinds = {s.path: s.kind for s in sources}
        self.classes: dict[tuple[str, str], _Class] = {}  # a later definition replaces an earlier one, as when it runs
        self.functions: dict[tuple[str, str], ast.AST] = {}
        self.local: dict[str, dict[str, tuple[str, str | None]]] = {}  # file -> name -> (file, attribute or None: a module)
        self.external: dict[str, dict[str, str]] = {}  # file -> name -> the dotted name it was imported as
        self.broken_imports: list[str] = []  # syntax errors of files another file imports
        self.where: dict[tuple[str, str], str] = {}  # (file, function) -> the name its statement's errors show
        self.assignments: dict[tuple[str, str], ast.stmt] = {}  # (file, name) -> its last module-level assignment
        for s in sources:
            self.local[s.path], self.external[s.path] = {}, {}
            for index, (node, where) in enumerate(s.statements):
                if isinstance(node, ast.ClassDef):
                    self.classes[(s.path, node.name)] = _Class(s.path, node.name, s.kind, node, index)
                elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    self.functions[(s.path, node.name)] = node
                    self.where[(s.path, node.name)] = where
                elif isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
                    for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                        if isinstance(target, ast.Name):
                            self.assignments[(s.path, target.id)] = node
                for n in ast.walk(node):
                    if isinstance(n, (ast.Import, ast.ImportFrom)):
                        self._bind(s.path, n)

    def _bind(self, file: str, node: ast.Import | ast.ImportFrom) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                target = self._resolve(file, alias.name, 0)
                name = alias.asname or alias.name
                if target:
                    self.local[file][name] = (target, None)
                else:
                    self.external[file][alias.asname or alias.name.split(".")[0]] = alias.name if alias.asname else alias.name.split(".")[0]
            return
        base = node.module or ""
        for alias in node.names:
            name = alias.asname or alias.name
            submodule = self._resolve(file, f"{base}.{alias.name}" if base else alias.name, node.level)
            target = self._resolve(file, base, node.level) if base or node.level else None
            if submodule:
                self.local[file][name] = (submodule, None)
            elif target:
                self.local[file][name] = (target, alias.name)
            else:
                self.external[file][name] = f"{base}.{alias.name}"

    def _resolve(self, importer: str, module: str, level: int) -> str | None:
        """The file an import names, looked up as Python would from the importer's folder, then the submission's."""
        here = PurePosixPath(importer).parent
        if level:
            for _ in range(level - 1):
                here = here.parent
            bases = [here]
        else:
            bases = [here, PurePosixPath(".")]
        for base in bases:
            stem = base.joinpath(*module.split(".")) if module else base
            for candidate in (f"{stem}.py", f"{stem}/__init__.py"):
                candidate = str(PurePosixPath(candidate))
                if candidate in self.sources:
                    if self.sources[candidate].syntax_error:
                        self.broken_imports.append(self.sources[candidate].syntax_error)
                    return candidate
        return None

    def _lookup(self, file: str, name: str) -> tuple[str, str] | None:
        """What a dotted name in `file` refers to among the folder's classes and functions."""
        head, _, attr = name.rpartition(".")
        if head:
            bound = self.local[file].get(head)
            return (bound[0], attr) if bound and bound[1] is None else None
        if name in self.local[file]:
            target, attribute = self.local[file][name]
            return (target, attribute) if attribute else None
        return (file, name) if (file, name) in self.classes or (file, name) in self.functions else None

    def is_module(self, cls: _Class, seen: frozenset = frozenset()) -> bool:
        return any(self._base_kind(cls, base, seen) for base in cls.node.bases)

    def _base_kind(self, cls: _Class, base: ast.expr, seen: frozenset) -> str:
        """"torch" for a torch class (nn.Module, nn.Sequential), "local" for a folder class that is a module, else ""."""
        name = dotted_name(base)
        if name is None:
            return ""
        root = name.split(".")[0]
        imported = self.external[cls.file].get(root, "")
        if root in ("nn", "torch") or imported.startswith("torch"):
            return "torch"
        target = self._lookup(cls.file, name)
        parent = self.classes.get(target) if target else None
        if parent and parent not in seen and self.is_module(parent, seen | {cls}):
            return "local"
        return ""

    def _parent(self, cls: _Class) -> _Class | None:
        for base in cls.node.bases:
            target = self._lookup(cls.file, dotted_name(base) or "")
            if target in self.classes and self._base_kind(cls, base, frozenset()) == "local":
                return self.classes[target]
        return None

    def _method(self, cls: _Class, name: str, depth: int = 0):
        """The class's own `name` method, else its folder base class's; "torch" when a torch base supplies it."""
        own = next((n for n in cls.node.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name == name), None)
        if own or depth > 10:
            return own
        parent = self._parent(cls)
        if parent:
            return self._method(parent, name, depth + 1)
        torch_bases = [dotted_name(b) or "" for b in cls.node.bases if self._base_kind(cls, b, frozenset()) == "torch"]
        return "torch" if any(not b.endswith("Module") for b in torch_bases) else None

    def candidates(self, modules: list[_Class]) -> tuple[list[_Class], dict[tuple[str, str], tuple[str, str]]]:
        """The classes that may be the model, and the notebook copies left out for the module class they copy."""
        used = set()
        for cls in modules:
            used |= self._reached(cls.file, [cls.node], {(cls.file, cls.name)}) - {(cls.file, cls.name)}
        found = [c for c in modules if (c.file, c.name) not in used]
        with_forward = [c for c in found if self._method(c, "forward")]
        found = with_forward or found
        buildable = [c for c in found if not _needs_arguments(self._method(c, "__init__"))]
        found = buildable or found
        in_modules: dict[str, list[_Class]] = {}
        for m in found:
            if m.kind == MODULE:
                in_modules.setdefault(m.name, []).append(m)
        copy_of = {(c.file, c.name): (same[0].file, same[0].name) for c in found
                   if c.kind != MODULE and len(same := in_modules.get(c.name, [])) == 1}
        return [c for c in found if (c.file, c.name) not in copy_of], copy_of

    def _reached(self, file: str, nodes: list[ast.AST], seen: set) -> set[tuple[str, str]]:
        """The folder's classes and functions the nodes refer to, following functions (and classes) they reach."""
        for node in nodes:
            names = {dotted_name(n) for n in ast.walk(node) if isinstance(n, (ast.Name, ast.Attribute))} - {None}
            for name in names:
                target = self._lookup(file, name)
                if target and target not in seen:
                    seen.add(target)
                    definition = self.classes[target].node if target in self.classes else self.functions.get(target)
                    if definition is not None:
                        self._reached(target[0], [definition], seen)
        return seen

    def calls(self, candidates: list[_Class], copy_of: dict[tuple[str, str], tuple[str, str]]) -> list[_Call]:
        """Every call in the folder that builds a candidate, directly or through a function of the folder; a call of
        a notebook's copy of a class counts for the module class it copies (`copy_of`)."""
        keys = {(c.file, c.name) for c in candidates}
        found = []
        for file, source in self.sources.items():
            for index, (statement, where) in enumerate(source.statements):
                for node, assigned, local in calls_in(statement):
                    target = self._lookup(file, dotted_name(node.func) or "")
                    if target in self.classes:
                        built, via = [target], None
                    elif target in self.functions:
                        built, via = sorted(self._reached(target[0], [self.functions[target]], set())), target
                    else:
                        continue
                    for key in built:
                        imported = key[0] != file  # a notebook's own copy of a module's class is not an import
                        original, key = key, copy_of.get(key, key)
                        if key in keys:
                            found.append(_Call(key, file, (index, node.lineno, node.col_offset), imported, original != key,
                                               node, f"{where}, line {node.lineno}", assigned, local, via))
        files = {file: i for i, file in enumerate(self.sources)}
        return sorted(found, key=lambda c: (files[c.importer], c.order))

    def direct_call(self, call: _Call, key: tuple[str, str]) -> tuple[ast.Call, str, str, frozenset[str]] | None:
        """The call that names the class itself: `call`, or for a factory (`get_model()`) the last call of the class
        in its body, one that assigns or returns it first; with where it is, its file, and the names its function
        binds. None for a factory without one."""
        if call.via is None:
            return call.node, call.where, call.importer, call.local
        file = call.via[0]
        inside = [(n, assigned, local) for n, assigned, local in calls_in(self.functions[call.via])
                  if (self._lookup(file, dotted_name(n.func) or "") or ("", ""))[1] == key[1]]
        if not inside:  # it hands back the class itself (`return Net`): what builds it is not in view
            return None
        node, _, local = max(inside, key=lambda c: (c[1], c[0].lineno, c[0].col_offset))
        return node, f"{self.where[call.via]}, line {node.lineno}", file, local

    def constant(self, file: str, name: str, model_file: str, local: frozenset[str] = frozenset(), depth: int = 0) -> Argument | None:
        """A name passed to the model's constructor in `file`, as plain data: the literal its module-level assignment
        holds, or its name when the model's own file binds it by the loading rule (the worker reads it there); None
        for a name the enclosing function binds, or one that is neither."""
        if name in local or depth > 8:
            return None
        statement = self.assignments.get((file, name))
        if statement is not None and (text := literal(statement.value)):
            return Argument(literal=text)
        bound = self.local[file].get(name)
        if statement is None and bound and bound[1]:  # imported from another file of the folder
            found = self.constant(bound[0], bound[1], model_file, frozenset(), depth + 1)
            if found is not None and (found.literal or file != model_file):
                return found
        if file == model_file and ((statement is not None and runnable(statement) is not None) or bound or name in self.external[file]):
            return Argument(constant=name)
        return None


def _needs_arguments(init) -> bool:
    if not isinstance(init, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return False
    args = init.args
    positional = args.posonlyargs + args.args
    required = len(positional) - 1 - len(args.defaults)  # less self
    return required > 0 or any(d is None for d in args.kw_defaults)
