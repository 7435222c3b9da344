"""Writes the route table, functions/routes.py, from the route declarations.

    .venv/bin/python -m infra.routes          # rewrite it
    .venv/bin/python -m infra.routes --check  # exit 1 if it is out of date

It imports every module under functions/ (importing declares a module's routes and does nothing
else) and lists each declared route with the module and view that serve it. app.py declares the
API's routes from that table without importing their modules (functions.core.lazy).
"""

from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TABLE = ROOT / "functions" / "routes.py"

HEADER = '''"""The API's routes: for each module, its routes as (method, path, view), and the content types
of the routes that accept more than JSON.

Generated from the route declarations by `python -m infra.routes`; do not edit.
tests/foundation/test_routes.py keeps it current. app.py declares these routes without importing
their modules, and each module loads on its first request (functions.core.lazy).
"""

'''


def declared() -> tuple[dict[str, list[tuple[str, str, str]]], dict[tuple[str, str], tuple[str, ...]]]:
    """Every declared route by module, and the content types of those that accept more than JSON."""
    sys.path.insert(0, str(ROOT))
    import functions
    from functions.core.http import JSON_ONLY, ROUTES

    for found in pkgutil.walk_packages(functions.__path__, "functions."):
        importlib.import_module(found.name)
    routes: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
    content_types: dict[tuple[str, str], tuple[str, ...]] = {}
    for spec in ROUTES:
        assert spec.view is not None
        for method in spec.methods:
            routes[spec.view.__module__].append((method, spec.path, spec.view.__name__))
            if spec.content_types != JSON_ONLY:
                content_types[(method, spec.path)] = spec.content_types
    return {module: sorted(entries) for module, entries in sorted(routes.items())}, dict(
        sorted(content_types.items())
    )


def _literal(items: tuple[str, ...]) -> str:
    inside = ", ".join(json.dumps(item) for item in items)
    return f"({inside},)" if len(items) == 1 else f"({inside})"


def render() -> str:
    """The table's source, as `ruff format` writes it."""
    routes, content_types = declared()
    lines = [HEADER, "ROUTES: dict[str, tuple[tuple[str, str, str], ...]] = {"]
    for module, entries in routes.items():
        lines.append(f"    {json.dumps(module)}: (")
        lines += [f"        {_literal(entry)}," for entry in entries]
        lines.append("    ),")
    lines += ["}", "", "CONTENT_TYPES: dict[tuple[str, str], tuple[str, ...]] = {"]
    lines += [f"    {_literal(key)}: {_literal(value)}," for key, value in content_types.items()]
    lines.append("}")
    source = "\n".join(lines) + "\n"
    formatted = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--stdin-filename", str(TABLE), "-"],
        input=source,
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    return formatted.stdout


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if functions/routes.py is out of date")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = TABLE.read_text() if TABLE.exists() else ""
        if current != text:
            print(f"{TABLE.relative_to(ROOT)} is out of date: run python -m infra.routes", file=sys.stderr)
            return 1
        return 0
    TABLE.write_text(text)
    print(f"wrote {TABLE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
