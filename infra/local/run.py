"""`make run`: start the local stack, print `ready http://127.0.0.1:PORT`, stop on a signal."""

from __future__ import annotations

import os
import signal
import sys
import threading

from infra.local.stack import LocalStack, configure_logging


def main() -> int:
    configure_logging()
    port = int(os.environ.get("PORT", "8000"))
    moto_port = int(os.environ.get("MOTO_PORT", "5000"))
    sandbox_port = int(os.environ.get("SANDBOX_PORT", "9000"))
    stack = LocalStack(port, moto_port, os.environ.get("APP", "app:app"), sandbox_port)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda *_: stop.set())
    parent = os.getppid()
    try:
        stack.start()
        print(f"moto http://127.0.0.1:{moto_port}", flush=True)
        if stack.sandbox is not None:
            print(f"wechat-sandbox {stack.sandbox.url}  (GET /sandbox/messages)", flush=True)
        print(f"ready http://127.0.0.1:{port}", flush=True)
        # Stop on a signal, or when whoever started us (make) has gone.
        while not stop.wait(0.5):
            if os.getppid() != parent:
                break
    finally:
        stack.stop()
    print("stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
