"""Shared pytest configuration: hypothesis profiles.

``ci`` (the default) keeps every property test to a few seconds; ``long`` is for
``nox -s fuzz`` (or ``HYPOTHESIS_PROFILE=long pytest``) and runs thousands of examples.
"""

import os

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
