"""`make operator NAME=<username> PASSWORD=<at least 12 characters> [ROLE=store STORE=<store id>]`:
create (or reset) an ops console account on the running `make run`, through the admin API as ops
would (PUT /admin/operators/{username}), and say where to sign in."""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.request

from infra.local.cli import OneLineParser, refuse
from infra.local.stack import LocalError, use_running_stack

PROG = "make operator"


def main(argv: list[str] | None = None) -> int:
    parser = OneLineParser(prog=PROG, description=__doc__.splitlines()[0])
    parser.add_argument("username")
    parser.add_argument("--role", default="admin", choices=["admin", "store"])
    parser.add_argument("--store", default="")
    args = parser.parse_args(argv)
    password = os.environ.get("PASSWORD", "")
    if not args.username:
        return refuse(PROG, "name the account: make operator NAME=<username> PASSWORD=<12+ characters>")
    try:
        record = use_running_stack()
    except LocalError as error:
        return refuse(PROG, error)
    from functions.core.config import load_settings

    body = {"password": password, "role": args.role, **({"store_id": args.store} if args.store else {})}
    request = urllib.request.Request(
        f"{record['api']}/admin/operators/{args.username}",
        data=json.dumps(body).encode(),
        method="PUT",
        headers={"X-Api-Key": load_settings().admin_api_key, "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            answer = json.loads(response.read())
    except urllib.error.HTTPError as error:
        refusal = json.loads(error.read() or b"{}")
        return refuse(PROG, f"{refusal.get('error')}: {refusal.get('message')}")
    print(f"{answer['role']} {answer['username']} can sign in at {record['api']}/console/login")
    return 0


if __name__ == "__main__":
    sys.exit(main())
