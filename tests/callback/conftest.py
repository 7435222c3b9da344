from __future__ import annotations

import pytest


@pytest.fixture
def settings_env():
    """Override settings through the environment for one test, then restore them."""
    import os

    from functions.core.config import reset_settings

    saved: dict[str, str | None] = {}

    def apply(**env: str) -> None:
        for key, value in env.items():
            saved.setdefault(key, os.environ.get(key))
            os.environ[key] = value
        reset_settings()

    yield apply
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    reset_settings()


@pytest.fixture
def seen_messages(monkeypatch):
    """Every message the handler passed on to the domain, after verification and decryption."""
    from functions.callback import domain

    seen = []
    original = domain.process

    def spy(message, *args, **kwargs):
        seen.append(message)
        return original(message, *args, **kwargs)

    monkeypatch.setattr(domain, "process", spy)
    return seen
