"""What the local command lines share: refusals are one line that says what to do."""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn


class OneLineParser(argparse.ArgumentParser):
    """argparse that answers a wrong argument with one line instead of usage and an error."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def refuse(prog: str, message: object) -> int:
    """Print `message` as the one line of a refusal; the exit status for it."""
    print(f"{prog}: {message}", file=sys.stderr, flush=True)
    return 2
