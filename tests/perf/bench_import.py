"""Cold-start cost of `import app` (and of a first request's module), and of the two validation
libraries we considered.

    .venv/bin/python -m tests.perf.bench_import [--runs 15]

Each figure is the median time of the import in a fresh interpreter (interpreter start
excluded). The libraries are measured the way the app uses them: the library plus
REQUEST_TYPES request declarations of the shape of POST /admin/orders, because pydantic
builds a validator per model at class creation while msgspec builds its decoder lazily.
Compare ratios within one run: this machine is noisy.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REQUEST_TYPES = 20
BARE = "import chalice, boto3, pynamodb"

_MSGSPEC = f"""
from typing import Annotated
import msgspec
Id = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9._:-]{{1,64}}$", max_length=64)]
for i in range({REQUEST_TYPES}):
    Item = msgspec.defstruct(f"Item{{i}}", [("sku", Id), ("qty", Annotated[int, msgspec.Meta(ge=1)]), ("price_cents", int)])
    Order = msgspec.defstruct(f"Order{{i}}", [("order_id", Id), ("openid", Id), ("items", list[Item]), ("total_cents", int)])
    msgspec.json.Decoder(Order)
"""

_PYDANTIC = f"""
from typing import Annotated
import pydantic
Id = Annotated[str, pydantic.Field(pattern=r"^[A-Za-z0-9._:-]{{1,64}}$", max_length=64)]
for i in range({REQUEST_TYPES}):
    Item = pydantic.create_model(f"Item{{i}}", sku=(Id, ...), qty=(Annotated[int, pydantic.Field(ge=1)], ...), price_cents=(int, ...))
    Order = pydantic.create_model(f"Order{{i}}", order_id=(Id, ...), openid=(Id, ...), items=(list[Item], ...), total_cents=(int, ...))
"""

# A route's module loads on its first request (functions.core.lazy): what a cold start pays
# before its first answer is `import app` plus that request's module.
_EVERY_ROUTE = "import app\nfrom functions.core import lazy\nfrom functions.routes import ROUTES\nlazy.import_all(ROUTES)"
STATEMENTS = {
    "bare (chalice, boto3, pynamodb)": BARE,
    "import app": "import app",
    "  + the callback's module": "import app\nimport functions.callback.handlers",
    "  + every route's module": _EVERY_ROUTE,
    "bare + msgspec": f"{BARE}\n{_MSGSPEC}",
    "bare + pydantic v2": f"{BARE}\n{_PYDANTIC}",
}


def import_seconds(statement: str, cwd: Path = ROOT) -> float:
    code = f"import time\nt = time.perf_counter()\n{statement}\nprint(time.perf_counter() - t)"
    # .pyc files are written by the first, unmeasured run (so never PYTHONDONTWRITEBYTECODE)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True, check=True
    )
    return float(done.stdout.strip().splitlines()[-1])


def loaded_by_app(modules: tuple[str, ...]) -> list[str]:
    probe = f"import sys, app; print(','.join(m for m in {modules!r} if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    return [m for m in done.stdout.strip().split(",") if m]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument(
        "--baseline",
        type=Path,
        help="another checkout's folder (e.g. `git worktree add /tmp/main main`): its `import app`"
        " measured in the same interleaved runs, on a loaded machine the fairer comparison",
    )
    args = parser.parse_args()
    runs = args.runs
    statements = dict(STATEMENTS)
    if args.baseline:
        statements["import app (baseline)"] = "import app"
    folder = {"import app (baseline)": args.baseline}
    for key, statement in statements.items():  # compile .pyc files once, outside the measurement
        import_seconds(statement, folder.get(key) or ROOT)
    samples: dict[str, list[float]] = {key: [] for key in statements}
    for _ in range(runs):  # interleaved, so that a noisy moment hits every line alike
        for key, statement in statements.items():
            samples[key].append(import_seconds(statement, folder.get(key) or ROOT))
    medians = {key: statistics.median(values) for key, values in samples.items()}
    bare = medians["bare (chalice, boto3, pynamodb)"]
    print(
        f"cold import, median of {runs}, fresh interpreter each ({REQUEST_TYPES} request types per library):"
    )
    for key, value in medians.items():
        print(f"  {key:34} {value * 1000:7.1f} ms   {value / bare:4.2f}x bare")
    cost = {lib: medians[f"bare + {lib}"] - bare for lib in ("msgspec", "pydantic v2")}
    for lib, seconds in cost.items():
        print(f"  {lib} adds {seconds * 1000:6.1f} ms = {seconds / bare:4.2f}x bare")
    every_route = medians["  + every route's module"]
    with_pydantic = every_route - cost["msgspec"] + cost["pydantic v2"]
    print(f"  every route's module with pydantic instead (estimate): {with_pydantic / bare:4.2f}x bare")
    heavy = ("wechatpy", "cryptography", "requests", "xmltodict", "pydantic", "jinja2", "segno")
    print(f"  heavy modules loaded by `import app`: {loaded_by_app(heavy)}")


if __name__ == "__main__":
    main()
