"""The deployment artifacts import on their own: no Lambda dies at import in production.

Chalice silently leaves a top-level `functions/` package out of the zip unless vendor/
brings it in, so this builds the artifacts as infra/ does for AWS, unzips them into an
empty folder and imports `app` and every handler with only that folder on sys.path, each from
the compiled module the zip carries.
"""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

IMPORT_EVERY_HANDLER = r"""
import importlib, json, sys
sys.path[:] = [p for p in sys.path if 'site-packages' not in p and p != ''] + [sys.argv[1]]
import app
handlers = set()
for source in app.app.event_sources:
    handlers.add(source.handler_string)
for name, fn in app.app.handler_map.items():
    fn = getattr(fn, 'func', fn)  # consumers and schedules are wrapped by chalice
    handlers.add(getattr(fn, '__module__', 'app') + '.' + getattr(fn, '__name__', name))
imported = []
for handler in sorted(handlers):
    module, _, attr = handler.rpartition('.')
    getattr(importlib.import_module(module), attr)
    imported.append(handler)
import chalice, pynamodb, wechatpy, cryptography
# Modules loaded lazily by handlers must be in the artifacts too.
import functions
import pkgutil
for info in pkgutil.walk_packages(functions.__path__, 'functions.'):
    importlib.import_module(info.name)
# The message templates' configuration ships with the code (chalicelib/templates.yaml) and is valid.
from functions.notifications import templates
assert str(templates.load().for_kind('booking_confirmed').default_id)
print(json.dumps({"handlers": imported, "paths": [m.__file__ for m in (chalice, pynamodb)]}))
"""


@pytest.mark.slow
def test_built_artifacts_import_every_handler_alone(tmp_path):
    out = tmp_path / "artifacts"
    subprocess.run(
        [str(ROOT / "infra" / "package"), "dev", str(out)], cwd=ROOT, check=True, capture_output=True
    )
    target = tmp_path / "lambda"
    target.mkdir()
    with zipfile.ZipFile(out / "deployment.zip") as code:
        code.extractall(target)
    # The pages' templates and stylesheet travel with the code
    for page_file in (
        "functions/web/static/app.css",
        "functions/web/templates/base.html",
        "functions/h5/templates/book.html",
        "functions/web/static/console.css",
        "functions/console/templates/console/overview.html",
        "chalicelib/templates.yaml",
    ):
        assert (target / page_file).is_file(), page_file
    layer = out / "layer.zip"  # infra/layer.py: the dependencies, built for Lambda
    if layer.exists():  # the layer lands in /opt/python in Lambda; one folder here
        with zipfile.ZipFile(layer) as deps:
            deps.extractall(tmp_path / "layer")
        site = (
            tmp_path
            / "layer"
            / "python"
            / "lib"
            / f"python{sys.version_info.major}.{sys.version_info.minor}"
            / "site-packages"
        )
        for item in site.iterdir():
            item.rename(target / item.name)
    # Every module runs from the .pyc beside it (infra/bytecode.py), never compiled in Lambda:
    # with each of our sources replaced by one that raises, everything still imports.
    ours = [target / "app.py", *sorted((target / "functions").rglob("*.py"))]
    for module in ours:
        module.write_text('raise ImportError("compiled from source: its .pyc was not used")\n')
    done = subprocess.run(
        [sys.executable, "-I", "-c", IMPORT_EVERY_HANDLER, str(target)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={"AWS_DEFAULT_REGION": "us-east-1", "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert all(str(target) in path for path in report["paths"])
    assert report["handlers"], "no handlers found"
