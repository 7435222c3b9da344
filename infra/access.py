"""What each Lambda function's code can reach, found by reading the source (no AWS needed).

infra/access.yaml is the declared, reviewed grant per function; this scan is its safety net:
tests/infra check that every table and queue a function's code can reach is declared, so a
function never dies in AWS with AccessDenied for a table it was never granted.

From the function's handler it follows the names the handler uses (and the module-level
functions of its own module that it calls) into the `functions.*` modules they come from, then
every `functions.*` module those import, and collects the tables of the models they define
(`class Meta: table = "..."`) and the literal names passed to `resource_name("...")` and
`send/send_many/send_batch("...", ...)` (a module-level string constant counts as a literal).

    python -m infra.access    # prints what each function reaches, as access.yaml would say it
"""

from __future__ import annotations

import ast
import importlib.util
import sys
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NAME_CALLS = {"resource_name"}  # a table or a queue
SEND_CALLS = {"send", "send_many", "send_batch"}


@dataclass
class Reach:
    tables: set[str] = field(default_factory=set)
    queues: set[str] = field(default_factory=set)
    modules: set[str] = field(default_factory=set)


@cache
def _parse(module: str) -> ast.Module | None:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        return None
    return ast.parse(Path(spec.origin).read_text(), spec.origin)


def _is_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def _imports(module: str, tree: ast.Module) -> dict[str, str]:
    """Local name -> functions.* module it stands for (or comes from)."""
    names: dict[str, str] = {}
    package = module.rsplit(".", 1)[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("functions."):
                    names[(alias.asname or alias.name).split(".")[0]] = alias.name
                    if alias.asname:
                        names[alias.asname] = alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            if not base.startswith("functions"):
                continue
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                names[alias.asname or alias.name] = candidate if _is_module(candidate) else base
    return names


def _constants(tree: ast.Module) -> dict[str, str]:
    found = {}
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        ):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    found[target.id] = node.value.value
    return found


def _literal(node: ast.AST, constants: dict[str, str]) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name):
        return constants.get(node.id)
    return None  # job.QUEUE and the like: resolved by the caller


def _call_name(node: ast.Call) -> str:
    if isinstance(node.func, ast.Name):
        return node.func.id
    if isinstance(node.func, ast.Attribute):
        return node.func.attr
    return ""


def _model_tables(tree: ast.AST) -> set[str]:
    """The logical tables of the PynamoDB models a module defines: `class Meta: table = "..."`."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and node.name == "Meta":
            for statement in node.body:
                if (
                    isinstance(statement, ast.Assign)
                    and [getattr(t, "id", None) for t in statement.targets] == ["table"]
                    and isinstance(statement.value, ast.Constant)
                    and isinstance(statement.value.value, str)
                ):
                    found.add(statement.value.value)
    return found


def _uses(module: str, tree: ast.AST, names: dict[str, str], reach: Reach) -> None:
    constants = _constants(_parse(module)) if _parse(module) else {}
    reach.tables |= _model_tables(tree)
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        name = _call_name(node)
        first = node.args[0]
        value = _literal(first, constants)
        if value is None and isinstance(first, ast.Attribute) and isinstance(first.value, ast.Name):
            other = names.get(first.value.id)
            other_tree = _parse(other) if other else None
            value = _constants(other_tree).get(first.attr) if other_tree else None
        if value is None:
            continue
        if name in NAME_CALLS:
            reach.tables.add(value)  # sorted out against the data template by the caller
        elif name in SEND_CALLS:
            reach.queues.add(value)


def _module_closure(module: str, reach: Reach) -> None:
    if module in reach.modules:
        return
    tree = _parse(module)
    if tree is None:
        return
    reach.modules.add(module)
    names = _imports(module, tree)
    _uses(module, tree, names, reach)
    for target in set(names.values()):
        _module_closure(target, reach)


def scan_handler(handler: str) -> Reach:
    """`functions.x.handlers.fn` -> the tables and queues its code can reach."""
    module, _, function = handler.rpartition(".")
    tree = _parse(module)
    reach = Reach()
    if tree is None:
        return reach
    names = _imports(module, tree)
    local = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}
    todo, seen = [function], set()
    while todo:
        current = todo.pop()
        if current in seen or current not in local:
            continue
        seen.add(current)
        body = local[current]
        _uses(module, body, names, reach)
        for node in ast.walk(body):
            if isinstance(node, ast.Name):
                if node.id in local:
                    todo.append(node.id)
                elif node.id in names:
                    _module_closure(names[node.id], reach)
    return reach


def scan_app() -> dict[str, Reach]:
    """Every function of the Chalice app -> what it reaches. The API is one function."""
    sys.path.insert(0, str(ROOT))
    import app as app_module

    app = app_module.app
    result: dict[str, Reach] = {}
    for source in app.event_sources:
        result[source.name] = scan_handler(source.handler_string)
    for fn in app.pure_lambda_functions:
        result[fn.name] = scan_handler(fn.handler_string)
    if app.routes:
        api = Reach()
        for methods in app.routes.values():
            for entry in methods.values():
                view = entry.view_function
                part = scan_handler(f"{view.__module__}.{view.__name__}")
                api.tables |= part.tables
                api.queues |= part.queues
        result["api_handler"] = api
    return result


def classify(reach: Reach, tables: set[str], queues: set[str]) -> tuple[set[str], set[str]]:
    """resource_name() may name a queue: split what was found by the data template's names."""
    found_tables = {t for t in reach.tables if t in tables}
    found_queues = reach.queues | {t for t in reach.tables if t in queues}
    return found_tables, found_queues


def main() -> int:
    from infra.template import DATA_TEMPLATE, _data_index, load_yaml

    index = _data_index(load_yaml(DATA_TEMPLATE))
    for name, reach in sorted(scan_app().items()):
        tables, queues = classify(reach, set(index["tables"]), set(index["queues"]))
        print(f"  {name}:")
        print(f"    tables: [{', '.join(sorted(tables))}]")
        print(f"    send:   [{', '.join(sorted(queues))}]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
