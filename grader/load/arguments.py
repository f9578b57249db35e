"""How the student built the model: the arguments of a call, as plain data the worker builds the model with.

Parent side, read as text, nothing evaluated but literals: an argument is kept as its literal's text when
`ast.literal_eval` reads it as a number, string, bool, None, or a tuple or list of those; a name is followed to the
module-level constant it names (`choose` resolves it: a literal assignment is copied as the literal, one the
loading rule runs in the model's own file is passed by name). Anything else (an expression, a loop variable,
`*args`) cannot be copied, and the model is built with no arguments, with a note that says why.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator

from grader.results import Argument, ConstructorCall

MAX_ARGUMENT_CHARS = 1000  # a literal longer than this is data, not a constructor argument
MAX_CALL_CHARS = 200  # of the call's text in the report


def literal(node: ast.expr | None) -> str:
    """The node's text when it is a plain literal (numbers, strings, bools, None, tuples and lists of them), else ""."""
    if node is None:
        return ""
    try:
        value = ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return ""
    text = ast.unparse(node)
    return text if _plain(value) and len(text) <= MAX_ARGUMENT_CHARS else ""


def _plain(value) -> bool:
    if isinstance(value, (tuple, list)):
        return all(_plain(v) for v in value)
    return value is None or isinstance(value, (bool, int, float, str))


def copy_call(call: ast.Call, where: str, constant: Callable[[str], Argument | None]) -> tuple[ConstructorCall | None, str]:
    """The call's arguments as plain data; or None and why they cannot be copied. A call without arguments is (None, "")."""
    if not call.args and not call.keywords:
        return None, ""
    text = ast.unparse(call)
    text = text if len(text) <= MAX_CALL_CHARS else text[:MAX_CALL_CHARS - 3] + "..."
    args, kwargs = [], []
    for node in call.args:
        args.append(_argument(node, constant))
    for keyword in call.keywords:
        kwargs.append((keyword.arg, _argument(keyword.value, constant) if keyword.arg else None))
    bad = [ast.unparse(n) for n, a in zip(call.args, args, strict=True) if a is None]
    bad += [("**" if k is None else f"{k}=") + ast.unparse(kw.value) for (k, a), kw in zip(kwargs, call.keywords, strict=True) if a is None]
    if bad:
        return None, (f"{text} at {where} passes {', '.join(bad)}, which the grader cannot copy (only literals and "
                      f"module-level constants): the model is built with no arguments")
    return ConstructorCall(text, where, tuple(args), tuple(kwargs)), ""


def _argument(node: ast.expr, constant: Callable[[str], Argument | None]) -> Argument | None:
    if text := literal(node):
        return Argument(literal=text)
    if isinstance(node, ast.Name):
        return constant(node.id)
    return None


def calls_in(tree: ast.AST) -> Iterator[tuple[ast.Call, bool, frozenset[str]]]:
    """Every call in the tree, whether its result is assigned to a name or returned (through `.to(device)` and the
    like), and the names its enclosing functions bind (their parameters and assignments)."""
    assigned = {id(c) for n in ast.walk(tree) if isinstance(n, (ast.Assign, ast.AnnAssign, ast.Return)) for c in _chain(n.value)}
    stack = [(tree, frozenset())]
    while stack:  # no recursion: a student's expression may nest deeper than Python's recursion limit
        node, local = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            arguments = node.args
            local = local | {a.arg for a in [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs,
                                              *filter(None, [arguments.vararg, arguments.kwarg])]}
            local = local | {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
        if isinstance(node, ast.Call):
            yield node, id(node) in assigned, local
        stack.extend((child, local) for child in ast.iter_child_nodes(node))


def _chain(value: ast.expr | None) -> Iterator[ast.Call]:
    """The calls of `Net(0.1).to(device).cuda()`: each one's result is the assigned value's."""
    while isinstance(value, ast.Call):
        yield value
        value = value.func.value if isinstance(value.func, ast.Attribute) else None


def parse_option(text: str) -> ast.Call:
    """`Net2(drop=0.01)` as a call of a plain class name; ValueError when it is not one."""
    try:
        call = ast.parse(text, mode="eval").body
    except (SyntaxError, MemoryError, RecursionError):
        raise ValueError(text) from None
    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name)):
        raise ValueError(text)
    return call
