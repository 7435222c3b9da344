"""Compiled modules in the code zip, so that a cold start does not compile the app.

Lambda's code folder is read-only: Python cannot write the .pyc files it compiles, so every
cold start would compile every module it imports (every route's modules: ~270 ms instead of
~200 here, docs/benchmarks.md). Chalice zips whatever `__pycache__` the build machine happens
to have, written against the build machine's file times, which the zip does not keep exactly
(it stores times to 2 s), so Python may judge them stale. This writes one unchecked-hash .pyc
(PEP 552) beside each module instead, compiled from the very source it sits beside, and used
as it is, whatever the file times.
"""

from __future__ import annotations

import importlib.util
import marshal
import shutil
import sys
import zipfile
from pathlib import Path

UNCHECKED_HASH = 0b01  # PEP 552 flags: hash-based, source not checked


def pyc(source: bytes, path: str) -> bytes:
    """The .pyc of `source` (the module at `path` in the zip), unchecked-hash."""
    code = compile(source, path, "exec", dont_inherit=True)
    flags = UNCHECKED_HASH.to_bytes(4, "little")
    return importlib.util.MAGIC_NUMBER + flags + importlib.util.source_hash(source) + marshal.dumps(code)


def cached_path(path: str) -> str:
    """Where this interpreter looks for `path`'s .pyc (`a/b.py` -> `a/__pycache__/b.cpython-311.pyc`):
    importlib.util.cache_from_source's answer without the builder's PYTHONPYCACHEPREFIX, which
    would point outside the zip."""
    folder, _, name = path.rpartition("/")
    cached = f"__pycache__/{name[:-3]}.{sys.implementation.cache_tag}.pyc"
    return f"{folder}/{cached}" if folder else cached


def precompile(zip_path: Path) -> int:
    """Rewrite the code zip with an unchecked-hash .pyc for each of its modules, instead of the
    build machine's; returns how many. The .pyc files are for this interpreter's version, which
    is the functions' runtime (Chalice takes the runtime from the Python that packages)."""
    staged = zip_path.with_suffix(".tmp")
    count = 0
    with zipfile.ZipFile(zip_path) as source, zipfile.ZipFile(staged, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            if "/__pycache__/" in f"/{info.filename}":
                continue  # the build machine's, replaced below
            data = source.read(info)
            target.writestr(info, data)
            if info.filename.endswith(".py"):
                compiled = zipfile.ZipInfo(cached_path(info.filename), info.date_time)
                compiled.external_attr = info.external_attr
                compiled.compress_type = zipfile.ZIP_DEFLATED
                target.writestr(compiled, pyc(data, info.filename))
                count += 1
    shutil.move(staged, zip_path)
    return count
