"""Builds the Lambda dependency layer from layers/requirements.txt for the Lambda platform.

Wheels only, for manylinux2014_x86_64 / CPython 3.11 (the runtime in .chalice/config.json),
never the build machine's own: a wheel compiled here (macOS, musl, another Python) imports
fine in tests and dies in Lambda. The zip is deterministic and cached under
build/layers/<hash of the requirements>/layer.zip, so it is rebuilt only when a pin changes
and its S3 key (content hash) stays the same across deploys.

Usage: python -m infra.layer [--force]   -> prints the zip's path
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REQUIREMENTS = ROOT / "layers" / "requirements.txt"
CACHE = ROOT / "build" / "layers"
PYTHON_VERSION = "3.11"
PLATFORM = "manylinux2014_x86_64"
SITE = f"python/lib/python{PYTHON_VERSION}/site-packages"
PIP_FLAGS = [
    "--platform",
    PLATFORM,
    "--implementation",
    "cp",
    "--python-version",
    PYTHON_VERSION,
    "--abi",
    f"cp{PYTHON_VERSION.replace('.', '')}",
    "--only-binary=:all:",
]
FIXED_TIME = (1980, 1, 1, 0, 0, 0)


def _requirement_lines(path: Path, seen: set[Path] | None = None) -> list[str]:
    """The requirement lines, with `-r` includes expanded (they are the cache key)."""
    seen = seen or set()
    path = path.resolve()
    if path in seen:
        return []
    seen.add(path)
    lines: list[str] = []
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith(("-r ", "--requirement ")):
            lines += _requirement_lines(path.parent / line.split(None, 1)[1], seen)
        else:
            lines.append(line)
    return lines


def cache_key(requirements: Path = REQUIREMENTS) -> str:
    material = "\n".join([*sorted(_requirement_lines(requirements)), *PIP_FLAGS])
    return hashlib.sha256(material.encode()).hexdigest()[:16]


def build_layer(requirements: Path = REQUIREMENTS, cache: Path = CACHE, force: bool = False) -> Path:
    """Return the path of the layer zip, building it if the cache has none for these pins."""
    target_dir = cache / cache_key(requirements)
    zip_path = target_dir / "layer.zip"
    if zip_path.exists() and not force:
        return zip_path
    target_dir.mkdir(parents=True, exist_ok=True)
    # Private staging: two builds at once (parallel tests) must not share a folder.
    staging = Path(tempfile.mkdtemp(dir=target_dir, prefix="staging-"))
    site = staging / SITE
    site.mkdir(parents=True)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "--quiet",
            "--no-compile",
            *PIP_FLAGS,
            "--target",
            str(site),
            "-r",
            str(requirements),
        ],
        check=True,
        stdout=sys.stderr,
        env={**os.environ, "PIP_NO_WARN_SCRIPT_LOCATION": "1"},
    )
    tmp = staging.with_suffix(".zip")
    _deterministic_zip(staging, tmp)
    tmp.replace(zip_path)  # atomic: a concurrent reader never sees half a zip
    shutil.rmtree(staging, ignore_errors=True)
    return zip_path


def _pruned(relative: Path) -> bool:
    return relative.parts[0] == "bin" or "__pycache__" in relative.parts


def _deterministic_zip(source: Path, dest: Path) -> None:
    """Same files -> same bytes: sorted entries, fixed timestamps and permissions."""
    files = sorted(p for p in source.rglob("*") if p.is_file() and not _pruned(p.relative_to(source / SITE)))
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for path in files:
            info = zipfile.ZipInfo(path.relative_to(source).as_posix(), FIXED_TIME)
            info.external_attr = (0o755 if os.access(path, os.X_OK) else 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="rebuild even if cached")
    args = parser.parse_args(argv)
    print(build_layer(force=args.force))
    return 0


if __name__ == "__main__":
    sys.exit(main())
