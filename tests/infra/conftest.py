"""One build of the stage's artifacts and template per test process (the layer is cached
under build/layers/, so only the first build ever runs pip)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from infra.template import build

    return build("dev", tmp_path_factory.mktemp("build") / "dev")


@pytest.fixture(scope="session")
def template(built: Path) -> dict[str, Any]:
    return json.loads((built / "template.json").read_text())
