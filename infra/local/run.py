"""`make run`: start the local stack, print `ready http://127.0.0.1:PORT`, stop on a signal.

Every port is checked before anything starts. Ctrl-C, SIGTERM and SIGHUP stop it at any
moment, start-up included; a second signal while it stops ends it at once. It also stops when
whoever started it (make) goes away.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from typing import Any

from infra.local.stack import (
    LocalError,
    LocalStack,
    check_ports,
    configure_logging,
    port_setting,
    remove_record,
    write_record,
)

SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
_recorded_port: int | None = None  # the port whose record is ours, once written


class Stopped(BaseException):
    """Raised in the main thread by a signal; a BaseException so no `except Exception` eats it."""


def _stop(signum: int, _frame: Any) -> None:
    for sig in SIGNALS:
        signal.signal(sig, _stop_now)
    raise Stopped(signal.Signals(signum).name)


def _stop_now(signum: int, _frame: Any) -> None:
    # Everything runs in this process: exiting leaves nothing behind but our record.
    if _recorded_port is not None:
        remove_record(_recorded_port)
    os._exit(128 + signum)


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(0.5)
    os.kill(os.getpid(), signal.SIGTERM)


def main() -> int:
    global _recorded_port
    stack = None
    try:
        for sig in SIGNALS:
            signal.signal(sig, _stop)
        threading.Thread(target=_watch_parent, args=(os.getppid(),), name="parent", daemon=True).start()
        configure_logging()
        port = port_setting("PORT")
        ports = {"PORT": port, "MOTO_PORT": port_setting("MOTO_PORT")}
        if not os.environ.get("WECHAT_API_BASE"):
            ports["SANDBOX_PORT"] = port_setting("SANDBOX_PORT")
        check_ports(ports)
        stack = LocalStack(
            port, ports["MOTO_PORT"], os.environ.get("APP", "app:app"), ports.get("SANDBOX_PORT")
        )
        stack.start()
        if write_record(port, stack.record()):
            _recorded_port = port
        else:
            print(f"warning: another live run holds the record of port {port}; left alone", file=sys.stderr)
        print(f"moto http://127.0.0.1:{stack.moto_port}", flush=True)
        if stack.sandbox is not None:
            print(f"wechat-sandbox {stack.sandbox.url}  (GET /sandbox/messages)", flush=True)
        print(f"ready http://127.0.0.1:{port}", flush=True)
        print("Ctrl-C stops it; `make demo` in another terminal runs a customer's journey.", flush=True)
        while True:
            time.sleep(3600)
    except LocalError as error:
        print(f"make run: {error}", file=sys.stderr, flush=True)
        return 2
    except Stopped:
        pass
    finally:
        if stack is not None:
            stack.stop()
            remove_record(stack.port)
    print("stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
