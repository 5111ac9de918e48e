"""Hypothesis properties over random configurations, valid and invalid.

Valid: random combinations of the config groups' options (strategy, funding, staffing,
running-cost payers, Land programmes), random parameter values inside their validated
ranges, random seeds and replications, run on the toy world; every run satisfies the model
invariants (shares in [0, 1] and non-decreasing, nationwide <= online anywhere, money never
negative and never beyond a budget, events inside the horizon and in lifecycle order).

Invalid: every numeric parameter refuses values below its range, NaN, infinities, text,
booleans and lists; every month key refuses what is not a month; unknown keys and unknown
group options are refused; each with a one-line :class:`~sim.errors.ConfigError` naming the
key. A few of them end to end through ``python -m sim``: exit 2, one line, nothing written.

Example counts scale with the Hypothesis profile (``tests/conftest.py``: ``ci`` by default,
about 1,160 examples in this file, some 70 s of CPU on one core, most of it the 150 runs;
``HYPOTHESIS_PROFILE=dev`` for a quick pass).
"""

from __future__ import annotations

import copy
import math
import os
import re
import subprocess
import sys
from functools import cache
from typing import Any

import numpy as np
import pandas as pd
import pytest
from helpers import TOL, check_invariants, make_config
from hypothesis import given, settings
from hypothesis import strategies as st
from test_invariants import run_checked

from sim.config import GROUPS, group_options, load_config
from sim.errors import ConfigError
from sim.keys import get_path, numeric_keys, set_path, to_dict
from sim.params import Config
from sim.world import World

#: Examples of the cheapest test at the active profile; the others are multiples of it.
BASE_EXAMPLES = settings().max_examples

# --------------------------------------------------------------------------- valid configs

#: Options combined at random (every option of each group; ``calibrated`` stays ``none``,
#: the documented defaults, because its values are drawn below instead).
COMBINED_GROUPS = ("strategy", "funding", "staffing", "operation", "state_programmes")


@cache
def _group_subtrees() -> dict[tuple[str, str], Any]:
    """The part of the config each ``group=option`` sets, for every option of every group
    of :data:`COMBINED_GROUPS`. A group sets only its own node, so the i-th options of all
    groups are composed together (9 compositions, not 26; each takes ~0.5 s)."""
    options = {g: group_options(g) for g in COMBINED_GROUPS}
    out = {}
    for i in range(max(map(len, options.values()))):
        chosen = {g: opts[i % len(opts)] for g, opts in options.items()}
        cfg = make_config("world=toy", *(f"{g}={o}" for g, o in chosen.items()))
        out.update({(g, o): getattr(cfg, g) for g, o in chosen.items()})
    return out


#: Ranges the valid configurations draw their numbers from: wide, physically meaningful
#: parts of the validated ranges (sim/bounds.py).
FLOAT_RANGES = {
    "staffing.bund_fte": (0.0, 400.0),
    "staffing.state_fte_base": (0.0, 60.0),
    "staffing.state_fte_per_million": (0.0, 20.0),
    "staffing.lead_fte_per_service": (0.0, 3.0),
    "staffing.team_fte": (0.5, 10.0),
    "staffing.hiring_lag_months": (0.0, 24.0),
    "staffing.staff_cap_factor": (1.0, 3.0),
    "staffing.dev_fte_factor": (0.0, 3.0),
    "staffing.municipal_fte_factor": (0.0, 3.0),
    "staffing.attrition_per_year": (0.0, 0.5),
    "development.effort_person_days": (0.0, 4000.0),
    "development.complexity_elasticity": (0.0, 2.0),
    "development.effort_sigma": (0.0, 1.5),
    "development.builder_effort_sigma": (0.0, 1.5),
    "development.shared_build_overhead": (0.0, 1.0),
    "development.publication_months": (0.0, 12.0),
    "development.delay_cv": (0.0, 2.0),
    **{f"sharing.{f}.{k}": r for f in ("efa", "efv") for k, r in (
        ("decision_months", (0.0, 24.0)), ("contract_months", (0.0, 12.0)),
        ("tenant_onboarding_months", (0.0, 6.0)), ("propensity", (0.0, 1.0)),
        ("common_delay_weight", (0.0, 1.0)))},
    "municipal.onboarding_effort_person_days": (0.0, 40.0),
    "municipal.external_share_when_funded": (0.0, 1.0),
}


@st.composite
def valid_configs(draw: st.DrawFn) -> Config:
    """A random valid configuration of the toy world: group options combined, numbers drawn
    from wide, physically meaningful parts of their validated ranges."""
    cfg = make_config("world=toy")
    for group in COMBINED_GROUPS:
        option = draw(st.sampled_from(group_options(group)), label=group)
        setattr(cfg, group, copy.deepcopy(_group_subtrees()[group, option]))
    for key, (lo, hi) in FLOAT_RANGES.items():
        set_path(cfg, key, draw(st.floats(lo, hi), label=key))
    for f in ("efa", "efv"):
        set_path(cfg, f"sharing.{f}.operator_onboarding_slots", draw(st.integers(1, 20)))
    fraction = st.floats(0.0, 1.0)
    for p in cfg.funding.programmes:
        p.amount_eur = draw(st.sampled_from([0.0, 1e6, 1e8, 3e9]))
        p.municipal_share = draw(fraction)
        p.external_fte_per_project = draw(st.floats(0.0, 20.0))
    cfg.seed = draw(st.integers(0, 2**63 - 1))
    return cfg.validate()


def check_lifecycle(ev: pd.DataFrame) -> None:
    """Events of a service in a Land come in lifecycle order: published after its own
    go-live, reused after the operator published it, municipal onboarding after the service
    is available in the Land (built, bought as a vendor product or reused), all
    administrations after the first."""
    first = (ev.groupby(["replication", "ozg_id", "actor", "event"])["time_months"].min()
             .unstack("event"))

    def col(name: str) -> pd.Series:
        return first[name] if name in first else pd.Series(np.nan, index=first.index)

    def after(later: pd.Series, earlier: pd.Series, what: str) -> None:
        bad = later.notna() & ~(later >= earlier - TOL)  # NaN earlier: never happened
        assert not bad.any(), f"{what}: {first.index[bad.to_numpy()][:3].tolist()}"

    live = np.fmin(col("online"), col("product_bought"))
    after(col("published"), live, "published before its own go-live")
    available = np.fmin(live, col("reused"))
    after(col("municipal_first_onboarded"), available, "onboarded before available")
    after(col("municipal_all_onboarded"), col("municipal_first_onboarded"),
          "all administrations onboarded before the first")
    reused = ev[ev["event"] == "reused"]
    published = col("published")
    keys = pd.MultiIndex.from_arrays([reused["replication"], reused["ozg_id"],
                                      reused["detail"]])
    operator_published = published.reindex(keys).to_numpy()
    bad = ~(reused["time_months"].to_numpy() >= operator_published - TOL)
    assert not bad.any(), "reused before the operator published it"


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")  # FTE ~1e-308
@settings(max_examples=3 * BASE_EXAMPLES // 2)  # ~0.25 s of CPU each
@given(cfg=valid_configs(), replication=st.integers(0, 3))
def test_random_valid_configs_run_and_keep_the_invariants(toy_world: World, cfg: Config,
                                                          replication: int) -> None:
    tables, results = run_checked(toy_world, cfg, range(replication, replication + 1))
    check_invariants(tables, results[0].budgets, cfg.horizon_months)
    check_lifecycle(tables["events"])


def test_the_lifecycle_check_can_fail(toy_world: World) -> None:
    tables, _ = run_checked(toy_world, make_config("world=toy"), range(1))
    ev = tables["events"].copy()
    check_lifecycle(ev)
    pub = ev.index[ev["event"] == "published"][0]
    ev.loc[pub, "time_months"] = -1.0
    with pytest.raises(AssertionError, match="published before"):
        check_lifecycle(ev)


# --------------------------------------------------------------------------- invalid values


@cache
def _full_config() -> Config:
    """A config with every kind of block in force (programmes, Land programmes, payers), so
    that every numeric key the schema has appears."""
    return make_config("world=toy", "funding=konjunkturpaket", "state_programmes=all",
                       "operation=historical", "staffing=historical")


NUMERIC_KEYS = numeric_keys(_full_config())
#: Keys whose value is a month ``YYYY-MM`` (found by their value in the full config).
MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])", re.ASCII)


def _month_keys(obj: Any, prefix: str = "") -> list[str]:
    if isinstance(obj, dict):
        items: list[tuple[str, Any]] = [(str(k), v) for k, v in obj.items()]
    elif isinstance(obj, list):
        items = [(str(i), v) for i, v in enumerate(obj)]
    else:
        return [prefix[:-1]] if isinstance(obj, str) and MONTH.fullmatch(obj) else []
    return [k for name, v in items for k in _month_keys(v, f"{prefix}{name}.")]


MONTH_KEYS = _month_keys(to_dict(_full_config()))


def _names_key(msg: str, key: str) -> bool:
    """Whether a one-line message starts with ``key`` (or the list or block holding it)."""
    named = re.sub(r"\[(\d+)\]", r".\1", re.split(r"[=: ]", msg, maxsplit=1)[0])
    return "\n" not in msg and (key == named or key.startswith(named + "."))


def _refused(cfg: Config, key: str) -> None:
    with pytest.raises(ConfigError) as info:
        cfg.validate()
    assert _names_key(str(info.value), key), f"{key}: {info.value}"


bad_numbers = st.one_of(
    st.floats(max_value=-1e-9),                       # below every lower bound (all >= 0)
    st.sampled_from([math.nan, math.inf, -math.inf]),
    st.text(max_size=8), st.booleans(), st.lists(st.integers(0, 9), max_size=2),
)


@settings(max_examples=8 * BASE_EXAMPLES)  # ~6 ms each
@given(key=st.sampled_from(NUMERIC_KEYS), value=bad_numbers)
def test_every_numeric_key_refuses_an_invalid_value(key: str, value: Any) -> None:
    cfg = copy.deepcopy(_full_config())
    set_path(cfg, key, value, coerce=False)
    _refused(cfg, key)


bad_months = st.one_of(
    st.text(max_size=10).filter(lambda s: not MONTH.fullmatch(s)),
    st.builds("{:04d}-{:02d}".format, st.integers(0, 9999), st.integers(13, 99)),
    st.builds("{:04d}-{:02d}".format, st.integers(0, 2017), st.integers(1, 12)),  # too early
    st.builds("{}\n".format, st.sampled_from(["2020-09", "2021-01"])),
)


@settings(max_examples=BASE_EXAMPLES)
@given(key=st.sampled_from(MONTH_KEYS), value=bad_months)
def test_every_month_key_refuses_what_is_not_a_month(key: str, value: str) -> None:
    cfg = copy.deepcopy(_full_config())
    set_path(cfg, key, value, coerce=False)
    _refused(cfg, key)


identifiers = st.from_regex(r"[a-z][a-z0-9_]{0,12}", fullmatch=True)


@settings(max_examples=BASE_EXAMPLES)
@given(group=st.sampled_from(GROUPS), option=identifiers)
def test_an_unknown_group_option_is_refused(group: str, option: str) -> None:
    if option in group_options(group):
        return
    with pytest.raises(ConfigError, match=rf"^{group}='{option}' is not allowed: one of "):
        load_config([f"{group}={option}"])


#: Config blocks an unknown key is tried in (each example one Hydra composition, ~0.5 s: few
#: examples).
BLOCKS = ("", "staffing.", "development.", "sharing.efa.", "municipal.", "world.",
          "funding.")


@settings(max_examples=max(3, BASE_EXAMPLES // 10))
@given(block=st.sampled_from(BLOCKS), name=identifiers)
def test_an_unknown_key_is_refused(block: str, name: str) -> None:
    key = f"{block}{name}"
    known = to_dict(_full_config())
    node = get_path(known, block[:-1]) if block else known
    if name in node or (not block and name in GROUPS) or name == "hydra":
        return
    with pytest.raises(ConfigError) as info:
        load_config([f"{key}=1"])
    msg = str(info.value)
    assert "\n" not in msg and msg.startswith(key) and "unknown key" in msg, msg


# --------------------------------------------------------------------------- end to end

#: Bad overrides through the real command (a few: each starts Python, ~4 s): a NaN, an
#: unknown key in a block, an unknown group option.
E2E_CASES = [("staffing.team_fte=nan", "staffing.team_fte"),
             ("sharing.efa.propensityy=0.5", "sharing.efa.propensityy"),
             ("strategy=efz", "strategy")]


@pytest.mark.parametrize(("override", "key"), E2E_CASES)
def test_the_command_refuses_a_bad_value_in_one_line_and_writes_nothing(
        tmp_path, override: str, key: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONWARNINGS"}
    res = subprocess.run([sys.executable, "-m", "sim", "world=toy", override,
                          f"hydra.run.dir={tmp_path / 'run'}"], cwd=tmp_path,
                         capture_output=True, text=True, env=env, timeout=300, check=False)
    assert res.returncode == 2, res.stderr[-2000:]
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and key in lines[0], res.stderr[-2000:]
    assert list(tmp_path.iterdir()) == [], "a refused run wrote something"


def test_the_profiles_give_over_a_thousand_examples() -> None:
    if os.environ.get("HYPOTHESIS_PROFILE", "ci") != "ci":
        pytest.skip("counts are those of the ci profile")
    assert 3 * BASE_EXAMPLES // 2 + (8 + 1 + 1) * BASE_EXAMPLES + BASE_EXAMPLES // 10 >= 1000
