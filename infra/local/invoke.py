"""`make invoke FN=<name> [EVENT=file.json]`: run one queue or scheduled function once
against the running local stack, in the environment `make run` recorded."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from infra.local.stack import ENV_FILE, configure_logging, load_app


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make invoke")
    parser.add_argument("function")
    parser.add_argument(
        "--event", help='JSON file: a schedule\'s detail (e.g. {"date": ...}) or an SQS event'
    )
    parser.add_argument("--app", default=os.environ.get("APP", "app:app"))
    args = parser.parse_args(argv)
    configure_logging()
    if not ENV_FILE.exists():
        print("the local stack is not running: start it with `make run`", file=sys.stderr)
        return 2
    for key, value in json.loads(ENV_FILE.read_text()).items():
        os.environ.setdefault(key, value)
    event = json.loads(Path(args.event).read_text()) if args.event else None

    import boto3

    from functions.core.config import resource_name
    from infra.local.runtime import EventRuntime, dumps

    runtime = EventRuntime(load_app(args.app), boto3.client("sqs"), resource_name)
    try:
        result = runtime.invoke(args.function, event)
    except KeyError as error:
        print(error.args[0], file=sys.stderr)
        return 2
    print(dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
