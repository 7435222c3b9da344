"""An app whose import never finishes: `make run` with APP=tests.foundation.stuck_app:app is
stuck in its start-up (moto and the sandbox already serving) until a signal stops it."""

import time

while True:
    time.sleep(1)
