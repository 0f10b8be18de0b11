from __future__ import annotations

from collections.abc import Iterator

import keyring
import keyring.backends.fail
import pytest


@pytest.fixture
def no_keyring() -> Iterator[None]:
    """What headless Linux gets: keyring's own fail backend."""
    before = keyring.get_keyring()
    keyring.set_keyring(keyring.backends.fail.Keyring())
    yield
    keyring.set_keyring(before)
