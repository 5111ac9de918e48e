"""Mechanisms switched off one at a time (issue 14, part 5; MODEL.md 7.11).

Each switch is tested on a small world with the model's own records (events, the ledger,
the availability tables, the staff pools): switching a mechanism off changes what it
should, and only that. With nothing switched off the model is the model as it was.
"""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from helpers import make_config

from sim.calendar import month_index
from sim.cli.experiment import run_experiment
from sim.errors import ConfigError
from sim.figures.recipes import draw_experiment_figures
from sim.figures.waterfall import GAP, waterfall_table
from sim.keys import to_dict
from sim.mechanisms import ALL, MECHANISMS, NONE, STIMULUS_PREFIX, MechanismParams, switched_off
from sim.model import (
    EV_DEFERRED,
    EV_FUNDED,
    EV_ONLINE,
    EV_PUBLISHED,
    EV_REUSED,
    Simulation,
    TeamPool,
)
from sim.params import Config, WorldParams
from sim.report import build_report
from sim.runner import run_replication
from sim.world import World, build_world

#: A toy world with the Länder of two Land programmes (Hessen, Baden-Württemberg) besides
#: a city state: the toy world's Länder (HB, SL, BE) have no Land programme.
WORLD = WorldParams(name="mech", states=["HE", "BW", "HB"], max_admins_per_state=10,
                    services_per_topic=3)
ROOT = Path(__file__).resolve().parent.parent


def _env() -> dict[str, str]:
    """The environment of a command run from this checkout (its ``sim`` first)."""
    return {**os.environ, "PYTHONPATH": str(ROOT)}


#: The historical scenario's groups (the default run), every mechanism in force.
HISTORICAL = ("funding=historical", "staffing=historical", "operation=historical",
              "state_programmes=all", "calibrated=historical")


@pytest.fixture(scope="module")
def world() -> World:
    return build_world(copy.deepcopy(WORLD))


def _cfg(*overrides: str, off: str = NONE) -> Config:
    return make_config(*overrides, f"mechanisms.switched_off={off}", world=WORLD)


def _run(world: World, cfg: Config, replication: int = 0) -> Simulation:
    sim = Simulation(world, cfg, replication)
    sim.result = sim.run()  # type: ignore[attr-defined]
    return sim


def _events(sim: Simulation, code: int) -> pd.DataFrame:
    ev = pd.DataFrame([e for e in sim.events if e.code == code],
                      columns=["t", "code", "service", "actor", "detail"])
    return ev.sort_values(["service", "actor", "t"], kind="stable").reset_index(drop=True)


def _spending(sim: Simulation) -> pd.DataFrame:
    return pd.DataFrame(sim.ledger.rows)


def _flat(d: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(d, dict):
        out: dict[str, Any] = {}
        for k, v in d.items():
            out.update(_flat(v, f"{prefix}{k}."))
        return out
    return {prefix[:-1]: d}


def _same_run(a: Simulation, b: Simulation) -> None:
    np.testing.assert_array_equal(a.t_state, b.t_state)
    np.testing.assert_array_equal(a.t_admin, b.t_admin)
    assert a.events == b.events
    pd.testing.assert_frame_equal(_spending(a), _spending(b))


# --------------------------------------------------------------------------- the switch itself


def test_nothing_switched_off_is_the_model_as_it_is(world: World) -> None:
    """The default (``none``) returns the configuration itself, and a run with the explicit
    all-on block gives the same tables as one without it (the historical scenario, with
    its posterior draws)."""
    implicit = make_config(*HISTORICAL, world=WORLD, replications=2)
    explicit = make_config(*HISTORICAL, "mechanisms.switched_off=none", world=WORLD,
                           replications=2)
    assert implicit.mechanisms.switched_off == NONE and switched_off(implicit) is implicit
    for r in range(2):
        a, b = run_replication(world, implicit, r), run_replication(world, explicit, r)
        assert a.tables.keys() == b.tables.keys()
        for name in a.tables:
            pd.testing.assert_frame_equal(a.tables[name], b.tables[name], obj=name)


#: The parameters each switch sets (the others act in the model: no parameter changes).
SET_BY_SWITCH = {
    "information_lag": {"municipal.info_lag_months_by_size_class",
                        "providers.announcement_lag_months"},
    "reuse_delays": {f"sharing.{m}.{k}" for m in ("efa", "efv")
                     for k in ("decision_months", "contract_months")},
    "onboarding_slots": set(),
    "staff_turnover": {"staffing.attrition_per_year"},
    "hiring_lag": {"staffing.hiring_lag_months"},
    "cost_deferral": set(),
    "state_programmes": "state_programmes.",
    "stimulus": {"funding.programmes"},
}


@pytest.mark.parametrize("off", [*MECHANISMS, ALL])
def test_a_switch_sets_its_parameters_and_no_other(off: str) -> None:
    cfg = _cfg(*HISTORICAL, off=off)
    before, after = _flat(to_dict(cfg)), _flat(to_dict(switched_off(cfg)))
    changed = {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}
    names = list(MECHANISMS) if off == ALL else [off]
    expected = {k for k in changed if any(k.startswith(str(SET_BY_SWITCH[n]))
                                         for n in names if isinstance(SET_BY_SWITCH[n], str))}
    for n in names:
        if not isinstance(SET_BY_SWITCH[n], str):
            expected |= set(SET_BY_SWITCH[n])
    assert changed == expected
    if off in ("state_programmes", ALL):
        assert any(k.startswith("state_programmes.") for k in changed)  # there were some
    cfg2 = switched_off(cfg)
    if off in ("stimulus", ALL):
        names_left = [p.name for p in cfg2.funding.programmes]
        assert names_left == ["bund_2023", "itplr_digitalisierungsbudget"]
    assert to_dict(cfg) == to_dict(_cfg(*HISTORICAL, off=off))  # cfg itself untouched


def test_a_bad_switch_fails_with_one_line_naming_the_key() -> None:
    with pytest.raises(ConfigError, match=r"mechanisms\.switched_off='lag' is not allowed: "
                       r"one of none, information_lag, .*, stimulus, all"):
        _cfg(off="lag")
    with pytest.raises(ValueError, match="mechanism='lag' must be one of"):
        MechanismParams().is_off("lag")


# --------------------------------------------------------------------------- one test per switch


def test_information_lag_off_connects_earlier_and_leaves_the_build_side(world: World) -> None:
    """No information lag: the build side (every Land's availability) is the same;
    every municipal connection comes as early or earlier (no municipal money, no deferral:
    the queue is monotone in the arrivals), many strictly."""
    on, off = _run(world, _cfg()), _run(world, _cfg(off="information_lag"))
    np.testing.assert_array_equal(on.t_state, off.t_state)
    assert on.events == off.events
    done_on, done_off = on.t_admin, off.t_admin
    assert np.isfinite(done_on).sum() > 0
    assert (np.nan_to_num(done_off, posinf=1e9) <= np.nan_to_num(done_on, posinf=1e9)
            + 1e-9).all()
    finite = np.isfinite(done_on)
    assert (done_off[finite] < done_on[finite] - 1e-9).mean() > 0.5


def _no_declines(*overrides: str, off: str = NONE) -> Config:
    """Every Land reuses (propensity 1): no own copies, so the builds are one per service."""
    cfg = _cfg(*overrides, off=off)
    cfg.sharing.efa.propensity = 1.0
    return cfg.validate()


def test_reuse_delays_off_contracts_at_publication_and_leaves_the_builds(world: World) -> None:
    on, off = _run(world, _no_declines()), _run(world, _no_declines(off="reuse_delays"))
    for code in (EV_ONLINE, EV_PUBLISHED):
        pd.testing.assert_frame_equal(_events(on, code), _events(off, code))
    published = {e.service: e.t for e in off.events if e.code == EV_PUBLISHED}
    assert off.tenancies and all(t == published[s] for s, _land, t in off.tenancies)
    assert all(t > published[s] for s, _land, t in on.tenancies)
    r_on, r_off = _events(on, EV_REUSED), _events(off, EV_REUSED)
    assert r_on[["service", "actor"]].equals(r_off[["service", "actor"]])
    assert r_off["t"].mean() < r_on["t"].mean()


def test_onboarding_slots_off_means_no_tenant_waits(world: World) -> None:
    """Unlimited slots: every reuse is done exactly its onboarding time after the
    agreement; with one slot per operator some tenants wait. The builds are the same."""
    def cfg(off: str) -> Config:
        c = _no_declines(off=off)
        c.sharing.efa.operator_onboarding_slots = 1
        return c.validate()

    on, off = _run(world, cfg(NONE)), _run(world, cfg("onboarding_slots"))
    pd.testing.assert_frame_equal(_events(on, EV_ONLINE), _events(off, EV_ONLINE))

    def waits(sim: Simulation) -> np.ndarray:
        reused = {(e.service, e.actor): e.t for e in sim.events if e.code == EV_REUSED}
        f, mult = sim.cfg.sharing.efa, sim.reuse_delays["efa"][2]
        codes = [b.code for b in sim.lands]
        return np.array([reused[(s, codes[land])] - agreed
                         - f.tenant_onboarding_months * mult[s, land]
                         for s, land, agreed in sim.tenancies if (s, codes[land]) in reused])

    w_on, w_off = waits(on), waits(off)
    assert len(w_off) > 0 and np.abs(w_off).max() < 1e-9
    assert w_on.max() > 1.0  # a month or more in the one-slot queue


def _pool_log(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[float]]:
    """Record when teams are hired and when they leave (every builder)."""
    log: dict[str, list[float]] = {"hired": [], "left": []}
    hire, lose = TeamPool.hire_team, TeamPool.lose_team

    def hire_team(self: TeamPool) -> None:
        if self.hirable > 0:
            log["hired"].append(self.env.now)
        hire(self)

    def lose_team(self: TeamPool) -> None:
        if self.teams - self.leaving > 0:
            log["left"].append(self.env.now)
        lose(self)

    monkeypatch.setattr(TeamPool, "hire_team", hire_team)
    monkeypatch.setattr(TeamPool, "lose_team", lose_team)
    return log


def test_staff_turnover_off_means_no_leavers(world: World,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    log = _pool_log(monkeypatch)
    _run(world, _cfg("staffing=historical"))
    assert len(log["left"]) > 0
    log["left"].clear()
    log["hired"].clear()
    off = _run(world, _cfg("staffing=historical", off="staff_turnover"))
    assert log["left"] == []
    # without leavers nothing is hired but (some of) the posts up to the cap
    assert len(log["hired"]) <= sum(b.teams.max_teams - b.teams.initial_teams
                                    for b in off.builders)


def test_hiring_lag_off_fills_every_post_at_once(world: World,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    log = _pool_log(monkeypatch)
    cfg = _cfg("staffing=baseline")
    start = float(month_index(cfg.staffing.hiring_start))
    on = _run(world, cfg)
    hired_on = list(log["hired"])
    log["hired"].clear()
    off = _run(world, _cfg("staffing=baseline", off="hiring_lag"))
    posts = sum(b.teams.max_teams - b.teams.initial_teams for b in off.builders)
    assert posts > 0 and log["hired"] == [start] * posts
    # with the lag, one post after another: not all are filled within the horizon
    assert 0 < len(hired_on) < posts and min(hired_on) > start
    assert [b.teams.initial_teams for b in on.builders] == [
        b.teams.initial_teams for b in off.builders]


def test_cost_deferral_off_is_budgets_that_never_bind(world: World) -> None:
    """Under the reusers payer with small budgets tenancies are deferred; switched off,
    nothing is, and the run equals one whose budgets are the largest allowed (they never
    bind); the running costs are booked the same way."""
    def cfg(off: str, budgets: tuple[float, float] = (2.0e6, 0.2)) -> Config:
        c = _cfg("operation=reusers", off=off)
        c.operation.land_budget_eur_per_year, c.operation.municipal_budget_eur_per_capita_year \
            = budgets
        return c.validate()

    on = _run(world, cfg(NONE))
    assert len(_events(on, EV_DEFERRED)) > 0
    off = _run(world, cfg("cost_deferral"))
    assert len(_events(off, EV_DEFERRED)) == 0
    _same_run(off, _run(world, cfg(NONE, budgets=(1.0e12, 1.0e4))))
    assert (_spending(off)["programme"] == "running_costs").any()


def test_state_programmes_off_is_state_programmes_none(world: World) -> None:
    on = _run(world, _cfg("state_programmes=all"))
    land_programmes = {p.name for p in on.cfg.all_programmes()} - {
        p.name for p in on.cfg.funding.programmes}
    assert (_spending(on)["programme"].isin(land_programmes)).any()
    off = _run(world, _cfg("state_programmes=all", off="state_programmes"))
    assert not _spending(off)["programme"].isin(land_programmes).any()
    _same_run(off, _run(world, _cfg("state_programmes=none")))


def test_stimulus_off_spends_no_stimulus_money_and_keeps_the_rest(world: World) -> None:
    on = _run(world, _cfg("funding=historical"))
    off = _run(world, _cfg("funding=historical", off="stimulus"))

    def stimulus(sim: Simulation) -> tuple[float, int, set[str]]:
        sp = _spending(sim)
        eur = float(sp.loc[sp["programme"].str.startswith(STIMULUS_PREFIX), "eur"].sum())
        funded = sum(e.code == EV_FUNDED and e.detail.startswith(STIMULUS_PREFIX)
                     for e in sim.events)
        return eur, funded, {b[0] for b in sim.funding.initial}

    eur_on, funded_on, pots_on = stimulus(on)
    eur_off, funded_off, pots_off = stimulus(off)
    assert eur_on > 0 and funded_on > 0
    assert eur_off == 0 and funded_off == 0
    assert pots_off == {p for p in pots_on if not p.startswith(STIMULUS_PREFIX)}
    assert pots_off == {"bund_2023", "itplr_digitalisierungsbudget"}


# --------------------------------------------------------------------------- the waterfall


def _synthetic_national(changes: dict[str, float], reps: int = 3) -> pd.DataFrame:
    """A ``national`` table with one row per level, replication and chart month: with every
    mechanism on, coverage 0.5 + 0.01 r and a gap of 0.3; each level adds its change to
    both (constant over replications, so every interval has width 0)."""
    rows = []
    for lev, change in {"none": 0.0, **changes}.items():
        for r in range(reps):
            for m in ("2022-12", "2026-12"):
                cov = 0.5 + 0.01 * r + change
                rows.append({"mechanisms.switched_off": lev, "replication": r,
                             "month": month_index(m), "population_coverage": cov,
                             "online_anywhere_share": 0.6 + change, "nationwide_share": 0.3})
    return pd.DataFrame(rows)


def test_waterfall_steps_from_all_on_through_each_change_to_all_off() -> None:
    """Hand-computed: a +0.1, b -0.05 alone; all off together +0.2, so the interactions
    are 0.2 - (0.1 - 0.05) = 0.15, and the last step ends at the all-off value."""
    nat = _synthetic_national({"a": 0.10, "b": -0.05, "all": 0.20})
    t = waterfall_table(nat, "mechanisms.switched_off", "none", "all")
    assert len(t) == 2 * 2 * 5  # outcomes x months x (on, a, b, interactions, off)
    one = t[(t["outcome"] == "population_coverage") & (t["month"] == "2022-12")]
    assert list(one["kind"]) == ["all_on", "effect", "effect", "interactions", "all_off"]
    assert list(one["level"]) == ["none", "a", "b", "interactions", "all"]  # largest first
    on = 0.5 + 0.01  # mean over replications 0, 1, 2
    np.testing.assert_allclose(one["change"].iloc[1:4], [0.10, -0.05, 0.15], atol=1e-12)
    np.testing.assert_allclose(one["start"].iloc[1:4], [on, on + 0.10, on + 0.05], atol=1e-12)
    np.testing.assert_allclose(one["end"].iloc[3], on + 0.20, atol=1e-12)
    np.testing.assert_allclose(one["start"].iloc[4], on + 0.20, atol=1e-12)
    np.testing.assert_allclose(one["lo"].iloc[1:4], one["hi"].iloc[1:4], atol=1e-12)
    gap = t[(t["outcome"] == GAP) & (t["month"] == "2026-12")]
    np.testing.assert_allclose(gap["start"].iloc[0], 0.3, atol=1e-12)
    np.testing.assert_allclose(gap["end"].iloc[3], 0.5, atol=1e-12)
    # without an all-off point: no interactions, no all-off row
    alone = waterfall_table(nat[nat["mechanisms.switched_off"] != "all"],
                            "mechanisms.switched_off", "none")
    assert set(alone["kind"]) == {"all_on", "effect"}
    with pytest.raises(ValueError, match="after the horizon"):
        waterfall_table(nat.assign(month=nat["month"] - 100), "mechanisms.switched_off",
                        "none")


@pytest.fixture(scope="module")
def experiment(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("mechanisms")
    out = run_experiment(["mechanisms", "world=toy", "replications=2", "workers=1",
                          f"out={root / 'exp'}", f"cache={root / 'cache'}"])
    assert out is not None
    return out


def test_the_experiment_end_to_end_in_both_languages(experiment: Path) -> None:
    out = experiment
    nat = pd.read_parquet(out / "national")
    assert list(dict.fromkeys(nat["mechanisms.switched_off"])) == [NONE, *MECHANISMS, ALL]
    draw_experiment_figures(out, "de", ["waterfall"])
    figs = {p.name for p in (out / "figures").iterdir()}
    for stem in ("waterfall", "waterfall_de", "fan_population_coverage",
                 "difference_population_coverage"):
        assert {f"{stem}.png", f"{stem}.svg", f"{stem}.pdf", f"{stem}.csv"} <= figs, stem
    side = pd.read_csv(out / "figures" / "waterfall.csv", comment="#")
    assert set(side["level"]) == {NONE, *MECHANISMS, "interactions", ALL}
    # the sidecar's changes are the paired differences of the saved table
    at = nat[nat["month"] == month_index("2026-12")].pivot(
        index="replication", columns="mechanisms.switched_off", values="population_coverage")
    row = side[(side["outcome"] == "population_coverage") & (side["month"] == "2026-12")
               & (side["level"] == "information_lag")].iloc[0]
    assert row["change"] == pytest.approx((at["information_lag"] - at[NONE]).mean(), abs=1e-9)
    for lang, word in (("en", "What each mechanism contributes"),
                       ("de", "Was jeder Mechanismus beiträgt")):
        report = build_report(out, lang)  # type: ignore[arg-type]
        captions = [f.caption for f in report.figures()]
        assert any(word in c for c in captions), captions


def test_the_waterfall_refuses_another_design_in_one_line(experiment: Path) -> None:
    with pytest.raises(ConfigError, match=r"figures: waterfall needs the design of "
                       r"experiment mechanisms: reference\.factor mechanisms\.switched_off"):
        draw_experiment_figures(experiment, "en", ["waterfall"],
                                reference={"factor": "strategy", "level": "efa"},
                                out=experiment / "other")


def test_a_bad_switch_on_the_command_line_exits_2_with_one_line(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "sim", "world=toy",
                           "mechanisms.switched_off=lag", f"hydra.run.dir={tmp_path / 'run'}"],
                          capture_output=True, text=True, cwd=ROOT, env=_env(), timeout=120)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "mechanisms.switched_off='lag' is not allowed" in lines[0]
    assert not (tmp_path / "run").exists()
