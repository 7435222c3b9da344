"""`make invoke FN=<name> [EVENT=file.json]`: run one queue or scheduled function once
against the running local stack, in the environment `make run` recorded."""

from __future__ import annotations

import json
import os
import re
import sys
from datetime import date
from pathlib import Path
from typing import Any

from infra.local.cli import OneLineParser, refuse
from infra.local.stack import LocalError, configure_logging, load_app, use_running_stack

PROG = "make invoke"
EXAMPLE = '{"date": "YYYY-MM-DD"}'


def read_event(path: str | None) -> dict[str, Any] | None:
    """The event in file `path` (None without one); LocalError saying what to fix."""
    if not path:
        return None
    if path.lstrip().startswith(("{", "[")):
        raise LocalError(
            f"EVENT takes a file holding the JSON, not the JSON itself: "
            f"echo '{path}' > /tmp/event.json, then EVENT=/tmp/event.json"
        )
    try:
        text = Path(path).read_text()
    except FileNotFoundError:
        raise LocalError(f"EVENT file {path} does not exist: write the event there, e.g. {EXAMPLE}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise LocalError(f"cannot read EVENT file {path} ({error}): give a JSON file") from None
    try:
        event = json.loads(text)
    except ValueError as error:
        raise LocalError(f"EVENT file {path} is not JSON ({error}): it should hold e.g. {EXAMPLE}") from None
    if not isinstance(event, dict):
        raise LocalError(f"EVENT file {path} must hold a JSON object, e.g. {EXAMPLE}")
    detail = event.get("detail") if isinstance(event.get("detail"), dict) else {}
    day = detail.get("date", event.get("date"))
    if day is not None and not _is_date(day):
        raise LocalError(f'"date" in EVENT file {path} must be a date YYYY-MM-DD, got {json.dumps(day)}')
    return event


def _is_date(value: Any) -> bool:
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    parser = OneLineParser(prog=PROG, description="Run one queue or scheduled function once.")
    parser.add_argument("function", help="e.g. booking_reminders, repurchase_reminders, notification_worker")
    parser.add_argument(
        "--event", help=f"JSON file: a schedule's detail (e.g. {EXAMPLE}) or an SQS event; empty: none"
    )
    parser.add_argument("--app", default=os.environ.get("APP", "app:app"))
    args = parser.parse_args(argv)
    try:
        event = read_event(args.event)
        use_running_stack()
    except LocalError as error:
        return refuse(PROG, error)
    configure_logging()

    import boto3

    from functions.core.config import resource_name
    from infra.local.runtime import EventRuntime, dumps

    runtime = EventRuntime(load_app(args.app), boto3.client("sqs"), resource_name)
    try:
        result = runtime.invoke(args.function, event)
    except KeyError as error:
        return refuse(PROG, error.args[0])
    print(dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
