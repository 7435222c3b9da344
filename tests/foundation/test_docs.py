"""The README and docs/ cannot go stale: every path they name exists, every module they run
can be imported from its file, and the README's journey is `make demo`'s."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from infra.local.demo import STEPS
from tests.conftest import ROOT

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
GENERATED = {
    ".run",
    ".venv",
    "build",
    "test-artifacts",
}  # made by the commands and tests, absent from a fresh clone
FILE_TYPES = (".py", ".md", ".yaml", ".yml", ".json", ".toml", ".txt", ".cfg", ".ini", ".sh")
TOP = sorted(
    (p.name for p in ROOT.iterdir() if p.name not in GENERATED | {".git"} and not p.name.startswith(".venv")),
    key=len,
    reverse=True,
)
# A path that starts with one of the project's own top-level names, anywhere in the text
# (not inside a URL or another path).
ROOTED = re.compile(r"(?<![\w/.:-])((?:" + "|".join(map(re.escape, TOP)) + r")(?:/[\w.<>{}*-]+)*/?)")
BACKTICKED = re.compile(r"`([^`\s]+)`")
LINK = re.compile(r"\]\(([^)\s]+)\)")
MODULE_RUN = re.compile(r"python -m ([\w.]+)")
MODULE_NAME = re.compile(r"^(?:functions|infra|tests)(?:\.\w+)+(?::\w+)?$")


def exists(path: str, base: Path = ROOT) -> bool:
    """Does `path` exist? `<placeholder>` and `{placeholder}` parts match any name."""
    path = path.split("#")[0].rstrip(".,;:")
    if not path or path.split("/")[0] in GENERATED:
        return True
    pattern = re.sub(r"<[^>]*>|\{[^}]*\}", "*", path).rstrip("/")
    return any(base.glob(pattern)) if "*" in pattern else (base / pattern).exists()


def module_exists(name: str) -> bool:
    """`a.b.c` names a module, or an attribute of the module file `a/b.py`; `a.b:c` names an
    attribute of the module `a.b`."""
    module, colon, _ = name.partition(":")
    path = ROOT.joinpath(*module.split("."))
    if path.with_suffix(".py").exists() or (path / "__init__.py").exists():
        return True
    return not colon and path.parent.with_suffix(".py").exists()


def named_paths(doc: Path) -> list[str]:
    """Every path the doc names that does not exist."""
    text = doc.read_text()
    missing = [p for p in ROOTED.findall(text) if not exists(p)]
    for token in BACKTICKED.findall(text):
        if token.endswith(FILE_TYPES) and "://" not in token and not exists(token):
            missing.append(token)
        if MODULE_NAME.match(token) and not module_exists(token):
            missing.append(token)
    for target in LINK.findall(text):
        if not target.startswith(("http://", "https://", "#", "mailto:")) and not exists(target, doc.parent):
            missing.append(target)
    for module in MODULE_RUN.findall(text):
        if module.split(".")[0] in ("functions", "infra", "tests") and not module_exists(module):
            missing.append(f"python -m {module}")
    return missing


@pytest.mark.parametrize("doc", DOCS, ids=lambda d: str(d.relative_to(ROOT)))
def test_every_path_a_doc_names_exists(doc):
    assert named_paths(doc) == []


def test_the_checker_finds_what_does_not_exist(tmp_path):
    doc = tmp_path / "x.md"
    doc.write_text(
        "See `tests/coupons/moto_atomic.py`, `CONTRACT.md`, [gone](nowhere.md), functions/nothing/,\n"
        "`functions.coupons.nothing:f` and `python -m tests.perf.bench_nothing`; these exist:\n"
        "`functions/<capability>/`, `infra/local/demo.py`, docs/design.md., `.run/env-<PORT>.json`,\n"
        "`functions.coupons.triggers:on_order_recorded`, `cgi-bin/message/template/send`, https://x.y/tests/z.\n"
    )
    assert named_paths(doc) == [
        "tests/coupons/moto_atomic.py",
        "functions/nothing/",
        "tests/coupons/moto_atomic.py",
        "CONTRACT.md",
        "functions.coupons.nothing:f",
        "nowhere.md",
        "python -m tests.perf.bench_nothing",
    ]


def test_the_readme_journey_is_make_demos():
    readme = (ROOT / "README.md").read_text()
    journey = readme[readme.index("## A customer's journey") :]
    listed = re.findall(r"^\d+\. (.+)$", journey, flags=re.MULTILINE)
    assert listed == [title for title, _ in STEPS]
    # and the output it shows is the demo's
    for number, title, what in re.findall(r"^ ?(\d+)\. ([^:\n]+): (.+)$", journey, flags=re.MULTILINE):
        assert (title, what) == (STEPS[int(number) - 1][0], STEPS[int(number) - 1][1].__doc__)
