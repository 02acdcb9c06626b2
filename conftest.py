"""Shared pytest configuration: hypothesis profiles, and the engines under test.

``ci`` (the default) keeps every property test to a few seconds; ``long`` is for
``nox -s fuzz`` (or ``HYPOTHESIS_PROFILE=long pytest``) and runs thousands of examples.

``tests/engines.py`` (loaded here as a plugin) lists the engines that the engine-level
suites run against and gives them the ``engine`` fixture.
"""

import os
import sys
from pathlib import Path

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.register_profile(
    "long",
    max_examples=5000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=True,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# ``engines`` is imported by name from every test directory (tests/, interop/).
sys.path.insert(0, str(Path(__file__).parent / "tests"))
pytest_plugins = ["engines", "pytester"]
