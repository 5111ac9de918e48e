"""Fixtures: worlds of three sizes and a factory of validated configurations.

Helpers that tests import directly (``make_config``, ``deterministic``,
``check_invariants``...) live in ``tests/helpers.py``.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable, Iterator

import pytest
from helpers import SMALL, TOY, make_config
from hypothesis import HealthCheck, settings

from sim.params import Config, WorldParams
from sim.world import World, build_world

# Hypothesis profiles. ``ci`` (the default, so a plain ``pytest -n 2`` runs it): 100 examples
# per property unless a test asks for a multiple (tests/test_properties.py: over 1,000 in
# all), no deadline (a simulation's time varies with the machine's load), and the blob to
# reproduce a failure printed. ``dev`` (``HYPOTHESIS_PROFILE=dev``): a tenth, for a quick
# pass while editing. Tests that set ``max_examples`` themselves keep their counts.
settings.register_profile("ci", max_examples=100, deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", parent=settings.get_profile("ci"), max_examples=10)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(scope="session", autouse=True)
def private_run_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Tests (and the commands they start) never touch the user's run cache or its key:
    both default to a temporary folder of the session (``sim.cache``)."""
    root = tmp_path_factory.mktemp("run-cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("OZG_SIM_CACHE", str(root / "cache"))
        mp.setenv("OZG_SIM_CACHE_KEY", str(root / "config" / "cache.key"))
        yield


@pytest.fixture(scope="session")
def toy_world() -> World:
    """3 Länder (HB, SL, BE), at most 10 administrations each, 3 services per topic field."""
    return build_world(copy.deepcopy(TOY))


@pytest.fixture(scope="session")
def small_world() -> World:
    """3 Länder (SH, HB, SL), at most 40 administrations each, 6 services per topic field."""
    return build_world(copy.deepcopy(SMALL))


@pytest.fixture(scope="session")
def germany_world() -> World:
    """All 16 Länder, 557 services, 4,396 administrations."""
    return build_world(WorldParams())


@pytest.fixture
def config() -> Callable[..., Config]:
    """Factory of validated configs: ``config("strategy=efv", world=SMALL, replications=3)``."""
    return make_config
