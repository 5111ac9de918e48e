"""Calibration (``sim.calibration``, ``ozg-sim-calibrate``): observables against direct counts,
the measurement model by hand, the posterior summary and its checks, recovery of known
parameters from synthetic targets by ABC-SMC, the same particles on 1 and 2 workers (and on
a Dask cluster), bad input, and the command end to end on the toy world.

Recovery world: four Länder (HB, SL, TH, MV), 12 administrations each, 6 services per
topic field (84 services, 23 federal). Identifiable there: ``development.effort_person_days``
(moves the online-somewhere and federal series) and ``sharing.efa.decision_months`` (moves
the nationwide and per-Land series but not online-somewhere). Not identifiable on small
worlds: ``municipal.onboarding_effort_person_days`` (municipal staff is no bottleneck with
a few administrations) and ``staffing.dev_fte_factor`` together with the effort (only
their ratio matters).
"""

from __future__ import annotations

import copy
import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from helpers import TOY, make_config
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra

from sim.calendar import month_label
from sim.calibration import (
    METRICS,
    CalibrationResult,
    CalibrationSpec,
    ObservationKernel,
    ParameterRange,
    calibrate,
    check_parameters,
    config_at,
    fit_table,
    historical_targets,
    load_spec,
    log_density,
    make_targets,
    posterior_summary,
    quality_checks,
    series_shares,
    spec_from_dict,
    target_month,
)
from sim.calibration.backtest import (
    backtest_table,
    logistic_curve,
    persistence,
    straight_line,
    verdict_table,
)
from sim.config import CONF_DIR, load_config, register_schema, to_config
from sim.keys import to_dict
from sim.metrics import tables_for_replication
from sim.model import RunResult, simulate
from sim.params import ObservationParams, WorldParams
from sim.posterior import parse_posterior
from sim.world import FEDERAL, MUNICIPAL, World, build_world

RECOVERY = WorldParams(name="recovery", states=["HB", "SL", "TH", "MV"],
                       max_admins_per_state=12, services_per_topic=6)
CLI = [sys.executable, "-m", "sim.cli.calibrate"]
KIND_METRIC = {"online_anywhere": "ozg_leistungen_online_min1",
               "federal_online": "bund_leistungen_online",
               "nationwide_reported": "ozg_leistungen_flaechendeckend",
               "reported_in_land": "ozg_leistungen_flaechendeckend_in_land",
               "online_in_land": "ozg_leistungen_online_min1_in_land"}


# --------------------------------------------------------------------------- observables


def test_target_month_rules() -> None:
    assert target_month("2022-07") == 54          # end of July 2022
    assert target_month("2022-12-31") == 59       # end of December 2022
    assert target_month("2020-10-01") == 32       # 1 Oct: the end of September is nearest
    assert target_month("2021-06-20") == 41       # late in the month: that month


def _random_result(world: World, H: int, seed: int) -> RunResult:
    """Availability times with exact month boundaries, fractions and 'never'."""
    rng = np.random.default_rng(seed)

    def times(shape: tuple[int, int]) -> np.ndarray:
        t = rng.integers(0, H + 3, size=shape).astype(float)
        frac = rng.random(shape) < 0.5
        t[frac] += rng.random(int(frac.sum()))
        t[rng.random(shape) < 0.2] = np.inf
        return t

    t_state = times((world.n_services, world.n_states))
    fed = np.flatnonzero(world.services["executor"].to_numpy() == FEDERAL)
    t_state[fed] = t_state[fed, :1]  # a federal service goes live in every Land at once
    return RunResult(replication=0, horizon_months=H, t_state=t_state,
                     t_admin=times((len(world.municipal_services), world.n_admins)),
                     events=[], spending=[], budgets=[], n_simpy_events=0)


def _direct(world: World, r: RunResult, series: str, m: int, q: float = 1.0,
            listed: float = 1.0) -> float:
    """Share of the series' services usable at the end of month ``m``, by loops over the
    definitions (a state at month m counts times t < m + 1); "fully available" in a Land
    means connected by administrations holding at least ``q`` of its population; the
    dashboard counts the ``listed`` share of federal services (first by a salted hash)."""
    ex = world.services["executor"].to_numpy()
    ids = world.services["ozg_id"].to_numpy()
    fed_ids = sorted((hashlib.sha256(f"dashboard:{ids[s]}".encode()).hexdigest(), s)
                     for s in range(world.n_services) if ex[s] == FEDERAL)
    on_list = {s for _h, s in fed_ids[:round(listed * len(fed_ids))]}

    def counted(s: int, li: int) -> bool:
        return in_land(s, li, False) if ex[s] == FEDERAL and s in on_list else (
            ex[s] != FEDERAL and in_land(s, li, True))
    pos = world.municipal_position
    codes = list(world.states["state"])

    def in_land(s: int, li: int, every: bool) -> bool:
        a0, a1 = world.admin_slices[li]
        if ex[s] == MUNICIPAL and a1 > a0:
            done = [r.t_admin[pos[s], a] < m + 1 for a in range(a0, a1)]
            if not every:
                return any(done)
            pop = world.admins["population"].to_numpy()[a0:a1]
            return bool(sum(p for p, d in zip(pop, done, strict=True) if d)
                        >= q * pop.sum() - 1e-9)
        return bool(r.t_state[s, li] < m + 1)

    lands = range(world.n_states)
    kind, _, geo = series.partition(":")
    if kind == "online_anywhere":
        ok = [any(in_land(s, li, False) for li in lands) for s in range(world.n_services)]
    elif kind == "federal_online":
        ok = [any(in_land(s, li, False) for li in lands) for s in range(world.n_services)
              if ex[s] == FEDERAL]
    elif kind == "nationwide_nonfederal":
        ok = [all(in_land(s, li, True) for li in lands) for s in range(world.n_services)
              if ex[s] != FEDERAL]
    elif kind == "nationwide_reported":
        ok = [all(counted(s, li) for li in lands) for s in range(world.n_services)]
    elif kind == "reported_in_land":
        ok = [counted(s, codes.index(geo)) for s in range(world.n_services)]
    else:
        ok = [in_land(s, codes.index(geo), False) for s in range(world.n_services)]
    return sum(ok) / len(ok)


def test_observables_match_direct_counts(toy_world: World) -> None:
    H = 30
    series = ["online_anywhere", "federal_online", "nationwide_nonfederal",
              "nationwide_reported", "reported_in_land:SL", "reported_in_land:BE",
              "online_in_land:HB"]
    for seed in (1, 2):
        r = _random_result(toy_world, H, seed)
        shares = series_shares(toy_world, r, series)
        assert shares.shape == (len(series), H)
        for i, sid in enumerate(series):
            for m in range(0, H, 3):
                assert shares[i, m] == pytest.approx(_direct(toy_world, r, sid, m)), (sid, m)


@pytest.mark.parametrize("q, listed", [(0.5, 1.0), (0.8, 0.4), (1.0, 0.0)])
def test_reading_of_the_official_counts_matches_direct_counts(toy_world: World, q: float,
                                                              listed: float) -> None:
    H = 30
    series = ["nationwide_nonfederal", "nationwide_reported", "reported_in_land:SL",
              "reported_in_land:BE"]
    obs = ObservationParams(full_population_share=q, federal_listed_share=listed)
    for seed in (3, 4):
        r = _random_result(toy_world, H, seed)
        shares = series_shares(toy_world, r, series, obs)
        for i, sid in enumerate(series):
            for m in range(0, H, 3):
                assert shares[i, m] == pytest.approx(
                    _direct(toy_world, r, sid, m, q, listed)), (sid, m)
        # nationwide (dashboard) is never above any Land's count
        assert (shares[1] <= shares[2:].min(axis=0) + 1e-12).all()


def test_observables_agree_with_the_metrics_tables(toy_world: World) -> None:
    cfg = make_config(world=TOY, end="2022-12")
    r = simulate(toy_world, cfg, 0)
    t = tables_for_replication(toy_world, r)
    shares = series_shares(toy_world, r, ["online_anywhere", "online_in_land:SL",
                                          "reported_in_land:SL", "nationwide_reported"])
    S = toy_world.n_services
    np.testing.assert_allclose(shares[0] * S, t["national"]["online_anywhere"])
    sl = t["by_state"][t["by_state"]["state"] == "SL"]
    np.testing.assert_allclose(shares[1] * S, sl["online_anywhere_in_state"])
    # with the documented rules (all federal services listed, every administration) the
    # Land's official count is its `available` count
    np.testing.assert_allclose(shares[2] * S, sl["available_reported"])
    np.testing.assert_array_equal(sl["available_reported"], sl["available"])
    np.testing.assert_allclose(shares[3] * S, t["national"]["nationwide_reported"])


def test_historical_targets_on_the_share_scale(toy_world: World) -> None:
    spec = CalibrationSpec()
    t = historical_targets(spec, toy_world).set_index(["date", "metric", "geo"])
    # the toy world has HB, SL and BE: the TH, MV and NW targets are dropped
    assert set(t.index.get_level_values("geo")) == {"DE", "SL"}
    assert len(t) == 8
    row = t.loc[("2022-12-31", "ozg_leistungen_flaechendeckend", "DE")]
    assert row["observed"] == pytest.approx(105 / 575)
    assert row["month"] == 59 and row["series"] == "nationwide_reported"
    assert row["source_kind"] == "dashboard"
    assert row["sigma"] == pytest.approx(0.05 * 105 / 575 + 0.01)
    # the Normenkontrollrat counts non-federal services only, with an error of its own
    nkr = t.loc[("2021-09", "ozg_leistungen_flaechendeckend", "DE")]
    assert nkr["series"] == "nationwide_nonfederal" and nkr["observed"] == pytest.approx(16 / 460)
    assert nkr["sigma"] == pytest.approx(0.15 * 16 / 460 + 0.01)
    assert t.loc[("2021-06", "bund_leistungen_online", "DE"), "observed"] == pytest.approx(
        85 / 115)
    assert t.loc[("2020-10-01", "ozg_leistungen_online_min1", "DE"), "month"] == 32
    half = t.loc[("2021-06", "ozg_leistungen_online_min1_share", "DE")]
    assert half["observed"] == 0.5 and half["bound"] == "lower"
    assert t.loc[("2022-07", "ozg_leistungen_flaechendeckend_in_land", "SL"),
                 "observed"] == pytest.approx(80 / 575)


# --------------------------------------------------------------------------- measurement model


def test_log_density_and_kernel_by_hand() -> None:
    obs, sig = np.array([0.35, 0.5]), np.array([0.05, 0.1])
    sim = np.array([0.3, 0.7])
    expect = -0.5 * ((sim - obs) ** 2 / sig ** 2 + np.log(2 * np.pi * sig ** 2))
    assert log_density(sim, obs, sig, np.array([False, False])) == pytest.approx(expect.sum())
    # a lower bound: log P(measured value above 0.5) = log Phi((0.7 - 0.5) / 0.1)
    from scipy.stats import norm
    ll = log_density(sim, obs, sig, np.array([False, True]))
    assert ll == pytest.approx(expect[0] + norm.logcdf(2.0))
    kernel = ObservationKernel(["a", "b"], obs, sig, np.array([False, True]))
    assert kernel({"a": 0.3, "b": 0.7}, {}) == pytest.approx(ll)
    # the largest density: the point target hit, the bound cleared
    assert kernel.pdf_max == pytest.approx(-0.5 * np.log(2 * np.pi * 0.05 ** 2))
    assert kernel({"a": 0.35, "b": 5.0}, {}) == pytest.approx(kernel.pdf_max, abs=1e-9)


def _particles(n: int = 400, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"development.effort_person_days": rng.normal(1000, 100, n),
                         "sharing.efa.propensity": 1 - rng.exponential(0.01, n),
                         "weight": rng.random(n)})


def test_posterior_summary_and_quality_checks() -> None:
    base = make_config(world=TOY)
    spec = CalibrationSpec(parameters=[
        ParameterRange("development.effort_person_days", 400, 2000),
        ParameterRange("sharing.efa.propensity", 0.6, 1.0)])
    parts = _particles()
    par, est = posterior_summary(parts, spec, base)
    p = par.set_index("key")
    w = parts["weight"] / parts["weight"].sum()
    for key in spec.keys:  # the estimate is the weighted median: inside its own interval
        assert p.loc[key, "q05"] <= est[key] <= p.loc[key, "q95"]
        v = parts[key].to_numpy()
        below = w[v < est[key]].sum()
        assert abs(below - 0.5) < 0.02
    # the propensity piles against 1, a physical bound (a probability); 400 is not physical
    assert p.loc["sharing.efa.propensity", "mass_high"] > 0.8
    assert p.loc["sharing.efa.propensity", "physical_high"]
    assert not p.loc["development.effort_person_days", "physical_low"]
    gens = pd.DataFrame({"t": [0, 1], "temperature": [8.0, 1.0], "accepted": [400, 400],
                         "simulations": [1000, 2000], "acceptance_rate": [0.4, 0.2],
                         "ess": [390.0, 250.0]})
    q = quality_checks(par, gens)
    assert q["passed"].all(), q
    # a marginal piled against a bound that is not physical fails; so do few particles
    par2 = par.copy()
    par2.loc[0, "mass_low"] = 0.3
    gens2 = gens.assign(ess=[390.0, 150.0], accepted=[400, 300], temperature=[8.0, 2.0])
    q2 = quality_checks(par2, gens2).set_index(["check", "subject"])
    assert not q2.loc[("not piled at low bound", "development.effort_person_days"), "passed"]
    assert not q2.loc[("particles", "posterior sample"), "passed"]
    assert not q2.loc[("exact", "final temperature"), "passed"]
    assert "x 1.41" in q2.loc[("exact", "final temperature"), "note"]


def test_fit_table_bands_and_z() -> None:
    targets = pd.DataFrame({"target": [0, 1], "observed": [0.5, 0.3], "sigma": [0.05, 0.03],
                            "bound": ["point", "lower"], "catalogue_denominator": [575, 575],
                            "role": ["fit", "holdout"]})
    rng = np.random.default_rng(1)
    at = np.column_stack([rng.normal(0.5, 0.02, 400), rng.normal(0.6, 0.02, 400)])
    fit = fit_table(targets, at, temperature=4.0, seed=1)
    assert fit.loc[0, "sigma_effective"] == pytest.approx(0.1)
    sd = np.sqrt(at[:, 0].var(ddof=1) + 0.1 ** 2)
    assert fit.loc[0, "z"] == pytest.approx((0.5 - at[:, 0].mean()) / sd)
    assert fit.loc[0, "predictive_q05"] == pytest.approx(0.5 - 1.645 * sd, abs=0.01)
    assert fit.loc[1, "z"] == 0.0 and fit.loc[1, "in_band"]  # a bound the model clears
    assert bool(fit.loc[0, "in_band"])


# --------------------------------------------------------------------------- recovery


def _synthetic_targets(world: World, base, truth: dict[str, float],
                       spec: CalibrationSpec) -> pd.DataFrame:
    """Mean observables of 8 replications at ``truth`` with another seed than the
    calibration (a different realisation), as counts of the model's own catalogue."""
    plan = {"online_anywhere": [30, 42], "federal_online": [30, 42],
            "nationwide_reported": [42, 54, 59], "reported_in_land:TH": [54],
            "reported_in_land:SL": [54], "reported_in_land:MV": [54], "online_in_land:MV": [54]}
    series = list(plan)
    cfg = config_at(base, list(truth), list(truth.values()), "2022-12")
    cfg.seed = 99
    mean = np.stack([series_shares(world, simulate(world, cfg, r), series)
                     for r in range(8)]).mean(axis=0)
    n_fed = int((world.services["executor"] == FEDERAL).sum())
    scope_n = {"all": world.n_services, "federal": n_fed,
               "nonfederal": world.n_services - n_fed}
    rows = []
    for sid, months in plan.items():
        kind, _, geo = sid.partition(":")
        metric = KIND_METRIC[kind]
        for m in months:
            rows.append({"date": month_label(m), "geo": geo or "DE", "metric": metric,
                         "value": mean[series.index(sid), m] * scope_n[METRICS[metric][1]]})
    return make_targets(pd.DataFrame(rows), spec, world)


#: The recovery tests' truth: two parameters the small world's counts identify.
RECOVERY_TRUTH = {"development.effort_person_days": 1000.0, "sharing.efa.decision_months": 6.0}


def _recover(**budget: Any) -> tuple[CalibrationResult, CalibrationSpec]:
    """Calibrate the recovery world on targets simulated at :data:`RECOVERY_TRUTH` with
    the method and budget in ``budget``."""
    world = build_world(copy.deepcopy(RECOVERY))
    base = make_config(world=RECOVERY)
    n_fed = int((world.services["executor"] == FEDERAL).sum())
    spec = CalibrationSpec(
        name="recovery",
        parameters=[ParameterRange("development.effort_person_days", 400, 2000),
                    ParameterRange("sharing.efa.decision_months", 1, 18)],
        predictive_draws=20, catalogue_services=world.n_services,
        catalogue_federal_services=n_fed, lower_bound_metrics=[], **budget)
    targets = _synthetic_targets(world, base, RECOVERY_TRUTH, spec)
    return calibrate(base, world, spec, targets=targets, workers=2), spec


def _assert_recovered(res: CalibrationResult) -> None:
    """Each true value inside its 90 % interval, the estimate near it, the interval well
    inside the prior range (the data narrow the prior), and the fit in band."""
    p = res.parameters.set_index("key")
    for key, true in RECOVERY_TRUTH.items():
        row = p.loc[key]
        assert row["q05"] <= true <= row["q95"], (key, row.to_dict())
        assert abs(row["estimate"] - true) < 0.2 * (row["high"] - row["low"]), key
        assert row["q95"] - row["q05"] < 0.6 * (row["high"] - row["low"]), key
    assert res.fit["in_band"].mean() >= 0.8


@pytest.mark.slow
def test_abc_recovers_known_parameters_on_a_small_world() -> None:
    res, _spec = _recover(population_size=150, calibration_particles=100, max_generations=6,
                          max_simulations=2500, target_acceptance_rate=0.3)
    _assert_recovered(res)
    assert (res.fit["z"].abs() < 3).all()


# --------------------------------------------------------------------------- determinism


def _tiny_spec(**kw: object) -> CalibrationSpec:
    spec = CalibrationSpec(
        parameters=[ParameterRange("development.effort_person_days", 400, 2000),
                    ParameterRange("sharing.efa.decision_months", 1, 18),
                    ParameterRange("sharing.efa.operator_onboarding_slots", 2, 12)],
        population_size=12, calibration_particles=10, max_generations=3,
        max_simulations=80, predictive_draws=3)
    for k, v in kw.items():
        setattr(spec, k, v)
    return spec


def test_same_particles_with_one_and_two_workers(toy_world: World) -> None:
    base = make_config(world=TOY)
    one = calibrate(base, toy_world, _tiny_spec(), workers=1)
    two = calibrate(base, toy_world, _tiny_spec(), workers=2)
    assert len(one.generations) >= 2
    for name in ("particles", "generations", "parameters", "fit", "predictive", "projection",
                 "quality"):
        pd.testing.assert_frame_equal(getattr(one, name), getattr(two, name), obj=name)
    assert one.estimate == two.estimate
    # an integer parameter stays an integer
    assert isinstance(one.estimate["sharing.efa.operator_onboarding_slots"], int)
    # another seed gives other particles
    other = calibrate(base, toy_world, _tiny_spec(seed=2, max_generations=1), workers=1)
    assert not np.allclose(other.particles["development.effort_person_days"],
                           one.particles["development.effort_person_days"])


@pytest.mark.slow
def test_same_particles_on_a_dask_cluster(toy_world: World) -> None:
    distributed = pytest.importorskip("distributed")
    base = make_config(world=TOY)
    local = calibrate(base, toy_world, _tiny_spec(max_generations=2), workers=1)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        dask = calibrate(base, toy_world, _tiny_spec(max_generations=2), workers=2,
                         executor=client.get_executor())
    pd.testing.assert_frame_equal(local.particles, dask.particles)
    pd.testing.assert_frame_equal(local.fit, dask.fit)


# --------------------------------------------------------------------------- backtest


def test_naive_forecasters_on_known_curves() -> None:
    m = np.array([30.0, 40.0, 50.0])
    at = np.array([60.0, 70.0])
    np.testing.assert_allclose(persistence(m, np.array([0.1, 0.2, 0.3]), at), [0.3, 0.3])
    np.testing.assert_allclose(straight_line(m, 0.01 * m - 0.2, at), [0.4, 0.5])
    y = 1 / (1 + np.exp(-0.1 * (m - 45)))
    np.testing.assert_allclose(logistic_curve(m, y, at), 1 / (1 + np.exp(-0.1 * (at - 45))),
                               rtol=1e-4)
    # one point: anchored at the start of the rollout (2018-04, share 0)
    np.testing.assert_allclose(straight_line(np.array([33.0]), np.array([0.3]),
                                             np.array([63.0])), [0.6])


def test_backtest_table_and_verdict() -> None:
    fit = pd.DataFrame({
        "target": range(5), "date": ["2021-06", "2021-09", "2022-03", "2022-12", "2022-12"],
        "month": [41, 44, 50, 59, 59],
        "series": ["a", "a", "a", "a", "b"], "metric": "m", "geo": "DE",
        "bound": "point", "role": ["fit", "fit", "holdout", "holdout", "holdout"],
        "observed": [0.10, 0.13, 0.19, 0.28, 0.5],
        "model_median": [0.1, 0.13, 0.2, 0.27, 0.45], "predictive_q05": 0.0,
        "predictive_q95": [0.2, 0.2, 0.25, 0.3, 0.48],
        "in_band": [True, True, True, True, False]})
    bt = backtest_table(fit)
    assert list(bt["target"]) == [2, 3, 4]
    assert bt.loc[0, "persistence"] == pytest.approx(0.13)
    assert bt.loc[0, "straight_line"] == pytest.approx(0.13 + 6 * 0.01)
    assert np.isnan(bt.loc[2, "persistence_error"])  # series b has no fitted point
    v = verdict_table(bt).set_index("forecaster")
    assert v.loc["persistence", "points"] == 2
    assert v.loc["persistence", "model_mae"] == pytest.approx(0.01)
    assert v.loc["persistence", "forecaster_mae"] == pytest.approx((0.06 + 0.15) / 2)
    assert bool(v.loc["persistence", "model_beats"])


# --------------------------------------------------------------------------- bad input


PARAMS = {"development.effort_person_days": [400, 2000]}


@pytest.mark.parametrize("raw, needle", [
    ({"parameters": {"development.effort_days": [1, 2]}},
     "parameters.development.effort_days is not allowed: not a declared uncertainty; declare "
     "it under uncertainties: in conf/declarations.yaml"),
    ({"parameters": {"strategy.name": [1, 2]}},
     "parameters.strategy.name is not allowed: not a declared uncertainty"),
    ({"parameters": ["world.municipal_share_typ23"]},
     "parameters.world.municipal_share_typ23 is not allowed: not a declared uncertainty"),
    ({"parameters": {"sharing.efa.propensity": [0.5, 1.5]}},
     "parameters.sharing.efa.propensity=[0.5, 1.5] is not allowed: inside its declared range "
     "[0.6, 1]"),
])
def test_bad_parameters_name_key_and_allowed_values(raw: dict, needle: str) -> None:
    from sim.errors import ConfigError
    with pytest.raises(ConfigError) as exc:
        check_parameters(spec_from_dict(raw), make_config(world=TOY))
    assert needle in str(exc.value) and "\n" not in str(exc.value)


@pytest.mark.parametrize("raw, needle", [
    ({"parameters": {"development.effort_person_days": [900, 900]}},
     "parameters.development.effort_person_days=[900, 900] is not allowed: [low, high] with "
     "low < high"),
    ({"parameters": {"development.effort_person_days": [900, "x"]}},
     "parameters.development.effort_person_days[1]='x' is not allowed: a number"),
    ({"parameters": PARAMS, "population_size": 1},
     "population_size=1 is not allowed: an integer >= 10"),
    ({"parameters": PARAMS, "max_generations": "many"}, "max_generations='many' is not allowed"),
    ({"parameters": PARAMS, "observation_error": {"nkr": [0.1, 0]}},
     "observation_error.nkr[1]=0 is not allowed: a number > 0"),
    ({"parameters": PARAMS, "observation_error": {"blog": [0.1, 0.01]}},
     "observation_error.blog is not allowed: kinds are dashboard, dashboard_land, nkr"),
    ({"parameters": PARAMS, "observation_error": {"nkr": 0.1}},
     "observation_error.nkr=0.1 is not allowed: [relative, absolute]"),
    ({"parameters": PARAMS, "target_acceptance_rate": 1.5},
     "target_acceptance_rate=1.5 is not allowed: a number in (0, 1]"),
    ({"parameters": PARAMS, "until": "2021-13"}, "until='2021-13' is not a month"),
    ({"parameters": PARAMS, "design_points": 8}, "design_points is not allowed: spec keys are"),
    ({"parameters": PARAMS, "method": "mcmc"},
     "method='mcmc' is not allowed: one of abc, emulator"),
    ({"parameters": PARAMS, "implausibility_cutoff": 0},
     "implausibility_cutoff=0 is not allowed: a number > 0"),
    ({"parameters": PARAMS, "waves": 0}, "waves=0 is not allowed: an integer >= 1"),
    ({"parameters": {}}, "parameters={} is not allowed: a non-empty list of declared keys"),
    ({"parameters": [{"key": "development.effort_person_days", "low": 1, "high": 2}]},
     "is not allowed: a declared key, or {key: [low, high]} for a narrower range"),
    ({"parameters": PARAMS, "lower_bound_metrics": ["foo"]}, "lower_bound_metrics=['foo']"),
])
def test_bad_spec_values_are_one_line_errors(raw: dict, needle: str) -> None:
    from sim.errors import ConfigError
    with pytest.raises(ConfigError) as exc:
        spec_from_dict(raw)
    assert needle in str(exc.value) and "\n" not in str(exc.value)


def test_cli_bad_input_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "cal"
    r = subprocess.run([*CLI, "population_size=1", "world=toy", f"out={out}"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2, r.stderr
    assert r.stderr.strip() == ("ozg-sim-calibrate: error: population_size=1 is not allowed: "
                                "an integer >= 10")
    assert not out.exists()


@pytest.mark.parametrize("engine", ["local", "dask"])
def test_a_lost_calibration_worker_is_one_line_and_exit_4(engine, monkeypatch,
                                                         capsys) -> None:
    """A local pool whose worker was killed (BrokenProcessPool), or a Dask task that lost
    its worker too often (KilledWorker), ends the command with one line and
    sim.cli.common.EXIT_WORKERS_LOST, not a traceback."""
    from concurrent.futures.process import BrokenProcessPool

    import sim.cli.calibrate as cli
    from sim.cli.common import EXIT_WORKERS_LOST

    def broken(args: list[str]) -> None:
        if engine == "local":
            raise BrokenProcessPool("A process in the process pool was terminated abruptly")
        from types import SimpleNamespace

        from distributed.scheduler import KilledWorker
        raise KilledWorker("simulate-1", SimpleNamespace(address="tcp://127.0.0.1:1"), 3)

    monkeypatch.setattr(cli, "run_calibration", broken)
    with pytest.raises(SystemExit) as exc:
        cli.main(["world=toy"])
    assert exc.value.code == EXIT_WORKERS_LOST == 4
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("ozg-sim-calibrate: error: a worker "
                                                    "process of the calibration died"), err


@pytest.mark.parametrize("args, needle", [
    (["foo=1"], "foo= is not allowed: options are population_size="),
    (["until=2021-12", "apply=true"], "apply=true is not allowed with until=2021-12"),
    (["scheduler=localhost"], "scheduler='localhost' is not allowed: it is now executor=dask"),
    (["nosuchspec"], "calibration='nosuchspec' is not allowed: one of historical"),
    (["historical", "extra"], "'extra' is not allowed: one spec name"),
    (["strategy=foo"], "strategy='foo' is not allowed: one of efa"),
    (["apply=maybe"], "apply='maybe' is not allowed: one of true, false"),
    (["workers=0"], "workers='0' is not allowed: an integer >= 1"),
    (["sigma_relative=0.1"], "sigma_relative= is not allowed: options are population_size="),
])
def test_cli_bad_options_are_one_line_and_exit_2(args: list[str], needle: str,
                                                 tmp_path: Path, capsys) -> None:
    from sim.cli.calibrate import main
    out = tmp_path / "cal"
    with pytest.raises(SystemExit) as exc:
        main([*args, "world=toy", f"out={out}"])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and needle in err[0], err
    assert not out.exists()


# --------------------------------------------------------------------------- end to end


def _compose_with_calibrated(conf: Path, option: str) -> object:
    """Compose a copy of conf/ with the ``calibrated`` option ``option`` (one is added to
    its defaults list if it has none)."""
    cfg_yaml = conf / "config.yaml"
    text = cfg_yaml.read_text()
    if "calibrated:" not in text:
        text = text.replace("  - _self_\n", "  - _self_\n  - calibrated: none\n")
        cfg_yaml.write_text(text)
    register_schema()
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(str(conf), version_base=None):
            composed = compose("config", overrides=["world=toy", f"calibrated={option}"])
    finally:
        GlobalHydra.instance().clear()
    return to_config(composed, conf)


TINY_CLI = ["world=toy", "method=abc", "population_size=12", "calibration_particles=10",
            "max_generations=2", "max_simulations=60", "predictive_draws=4", "workers=2"]
TINY_EMULATOR_CLI = ["world=toy", "waves=2", "design_runs=24", "candidates=2000",
                     "training_runs=40", "hyper_runs=24", "population_size=40",
                     "calibration_particles=20", "max_generations=3",
                     "emulator_evaluations=3000", "predictive_draws=4", "workers=2"]


def test_cli_end_to_end_on_the_toy_world(tmp_path: Path) -> None:
    out = tmp_path / "cal"
    r = subprocess.run([*CLI, "historical", *TINY_CLI, f"out={out}"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    (folder,) = list(out.iterdir())
    assert folder.name.endswith("_historical") and f"outputs: {folder}" in r.stdout
    assert "calibrated values:" in r.stdout and "development.effort_person_days = " in r.stdout
    assert "quality checks" in r.stdout
    files = {p.name for p in folder.iterdir()}
    assert {"targets.csv", "particles.csv", "posterior.csv", "generations.csv",
            "parameters.csv", "quality.csv", "fit_table.csv", "patterns.csv",
            "acceptance.csv", "predictive.parquet", "projection.parquet", "abc.db",
            "calibrated.yaml", "report.md", "manifest.json", "figures"} <= files
    figs = {p.name for p in (folder / "figures").iterdir()}
    for stem in ("fit", "residuals", "posterior"):
        assert {f"{stem}.png", f"{stem}.svg", f"{stem}.pdf", f"{stem}.csv"} <= figs
        assert len(pd.read_csv(folder / "figures" / f"{stem}.csv", comment="#")) > 0
    man = json.loads((folder / "manifest.json").read_text())
    assert man["tool"] == "ozg-sim-calibrate" and man["spec"]["population_size"] == 12
    assert man["n_runs"]["predictive"] == 4 and man["code_version"]
    assert man["spec"]["overrides"] == ["world=toy"]
    assert man["base_overrides"] == ["calibrated=none", "world=toy"]
    particles = pd.read_csv(folder / "particles.csv")
    assert len(particles) == 12 and particles["weight"].sum() == pytest.approx(1.0)
    params = pd.read_csv(folder / "parameters.csv")
    assert {"key", "low", "high", "estimate", "q05", "q95"} <= set(params.columns)
    assert len(params) == len(load_spec("historical", {}, []).parameters)  # every key
    fit = pd.read_csv(folder / "fit_table.csv")
    assert {"observed", "model_median", "predictive_q05", "predictive_q95", "z",
            "in_band"} <= set(fit.columns)
    proj = pd.read_parquet(folder / "projection.parquet")
    assert proj["date"].max() == pd.Timestamp("2030-12-31")
    toy = build_world(load_config(["world=toy"]).world)
    assert {"online_anywhere", "federal_online", "nationwide_reported",
            "nationwide_nonfederal"} | {f"reported_in_land:{c}" for c in toy.states["state"]
                                        } == set(proj["series"])  # every Land: the patterns
    report = (folder / "report.md").read_text()
    for needle in ("## Quality checks", "## Measurement model", "figures/fit.png",
                   "85 federal services were online", "predictive 90 % band",
                   "## Patterns and acceptance targets", "StochasticAcceptor"):
        assert needle in report, needle
    # the posterior sample: the format runs read, the same particles and weights
    sample = parse_posterior((folder / "posterior.csv").read_text(), "historical")
    assert sample.keys == list(params["key"]) and sample.n_particles == 12
    np.testing.assert_allclose(sample.weights, particles["weight"], rtol=1e-6)

    # calibrated.yaml: package line first, provenance comments, loads with Hydra
    text = (folder / "calibrated.yaml").read_text()
    assert text.splitlines()[0] == "# @package _global_"
    assert "# command: ozg-sim-calibrate historical" in text and "# seed: 1" in text
    assert "posterior: historical_posterior.csv" in text
    est = params.set_index("key")["estimate"]
    conf = tmp_path / "conf"
    shutil.copytree(CONF_DIR, conf)
    shutil.copy(folder / "calibrated.yaml", conf / "calibrated" / "test.yaml")
    shutil.copy(folder / "posterior.csv", conf / "calibrated" / "historical_posterior.csv")
    cfg = _compose_with_calibrated(conf, "test")
    for key, value in est.items():  # every calibrated key, at its estimate
        node = cfg
        for part in str(key).split("."):
            node = getattr(node, part)
        assert node == pytest.approx(value), key
    assert cfg.posterior == sample and cfg.calibrated_draws == "posterior"
    # and calibrated=none composes as the command does (its documented defaults:
    # tests/test_config_precedence.py)
    none = _compose_with_calibrated(conf, "none")
    assert to_dict(none) == to_dict(load_config(["world=toy", "calibrated=none"]))
    assert none.posterior is None


def test_cli_emulator_method_end_to_end_on_the_toy_world(tmp_path: Path) -> None:
    out = tmp_path / "cal"
    r = subprocess.run([*CLI, "historical", *TINY_EMULATOR_CLI, f"out={out}"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    (folder,) = list(out.iterdir())
    assert "history matching: 48 simulations in 2 waves" in r.stdout
    files = {p.name for p in folder.iterdir()}
    assert {"waves.csv", "emulator_validation.csv", "emulator_check.csv", "design.parquet",
            "posterior.csv", "abc.db", "report.md"} <= files
    waves = pd.read_csv(folder / "waves.csv")
    assert list(waves["wave"]) == [0, 1] and list(waves["runs"]) == [24, 24]
    design = pd.read_parquet(folder / "design.parquet")
    assert len(design) == 48 and "development.effort_person_days" in design.columns
    check = pd.read_csv(folder / "emulator_check.csv")
    fitted = pd.read_csv(folder / "targets.csv")
    assert len(check) == (fitted["role"] == "fit").sum()
    assert check["coverage90"].between(0, 1).all()
    quality = pd.read_csv(folder / "quality.csv")
    assert "emulator" in set(quality["check"])
    man = json.loads((folder / "manifest.json").read_text())
    assert man["method"] == "emulator" and man["n_runs"]["design"] == 48
    report = (folder / "report.md").read_text()
    for needle in ("**History matching**", "**Emulators**", "NROY", "emulator evaluations",
                   "`waves.csv`"):
        assert needle in report, needle
    particles = pd.read_csv(folder / "particles.csv")
    assert len(particles) == 40 and particles["weight"].sum() == pytest.approx(1.0)


def test_emulator_same_posterior_with_one_and_two_workers(toy_world: World) -> None:
    base = make_config(world=TOY)
    kw = {"method": "emulator", "waves": 2, "design_runs": 20, "candidates": 2000,
          "training_runs": 40, "hyper_runs": 20, "population_size": 30,
          "calibration_particles": 20, "max_generations": 2, "emulator_evaluations": 2000}
    one = calibrate(base, toy_world, _tiny_spec(**kw), workers=1)
    two = calibrate(base, toy_world, _tiny_spec(**kw), workers=2)
    for name in ("particles", "generations", "design", "fit", "emulator_check"):
        pd.testing.assert_frame_equal(getattr(one, name), getattr(two, name), obj=name)
    pd.testing.assert_frame_equal(one.waves.drop(columns="seconds"),
                                  two.waves.drop(columns="seconds"))
    assert one.estimate == two.estimate


@pytest.mark.slow
def test_emulator_recovers_known_parameters_on_a_small_world() -> None:
    res, spec = _recover(method="emulator", waves=2, design_runs=60, candidates=5000,
                         training_runs=300, hyper_runs=150, population_size=400,
                         calibration_particles=200, max_generations=15,
                         emulator_evaluations=50000)
    # exact, and the weights not degenerate (a fifth of the particles effective)
    assert res.temperature == pytest.approx(1.0) and res.ess >= 0.2 * spec.population_size
    assert res.n_runs["design"] == 120  # against 2,500 simulations of ABC on the simulator
    _assert_recovered(res)
    assert res.emulator_check is not None and res.emulator_check["coverage90"].mean() >= 0.8


@pytest.mark.slow
def test_cli_backtest_on_the_toy_world(tmp_path: Path) -> None:
    out = tmp_path / "cal"
    r = subprocess.run([*CLI, "historical", *TINY_CLI, "until=2022-03", f"out={out}"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    (folder,) = list(out.iterdir())
    bt = pd.read_csv(folder / "backtest.csv")
    targets = pd.read_csv(folder / "targets.csv")
    held = targets[(targets["role"] == "holdout") & (targets["bound"] == "point")]
    assert sorted(bt["target"]) == sorted(held["target"]) and len(bt) > 0
    assert (targets.loc[targets["role"] == "fit", "month"] <= 50).all()
    for c in ("observed", "model_median", "predictive_q05", "predictive_q95", "in_band",
              "straight_line_error", "logistic_curve_error", "persistence_error"):
        assert c in bt.columns, c
    verdict = pd.read_csv(folder / "backtest_verdict.csv")
    assert list(verdict["forecaster"]) == ["straight_line", "logistic_curve", "persistence"]
    assert (folder / "figures" / "backtest.png").is_file()
    report = (folder / "report.md").read_text()
    assert "## Backtest: fitted up to 2022-03" in report
    # the nationwide count has a fitted point (March 2022): every forecaster is fitted
    assert (verdict["points"] > 0).all()
    assert ("beats every naive forecaster" in report) or ("does not beat" in report)


def test_backtest_verdict_says_when_no_forecaster_could_be_fitted() -> None:
    from types import SimpleNamespace

    from sim.calibration.report import _backtest_section
    bt = pd.DataFrame({"date": ["2022-07"], "series": ["nationwide_reported"],
                       "observed": [0.139], "model_median": [0.12], "predictive_q05": [0.05],
                       "predictive_q95": [0.2], "model_error": [-0.019], "in_band": [True],
                       **{f"{n}_error": [np.nan] for n in
                          ("straight_line", "logistic_curve", "persistence")}})
    result = SimpleNamespace(spec=SimpleNamespace(until="2021-12"))
    text = "\n".join(_backtest_section(result, {"backtest": bt,
                                                 "verdict": verdict_table(bt)}))
    assert "No naive forecaster could be fitted" in text
    assert "beats every" not in text
    bt["persistence_error"] = [0.05]
    text = "\n".join(_backtest_section(result, {"backtest": bt,
                                                 "verdict": verdict_table(bt)}))
    assert "beats the 1 naive forecaster(s) that could be fitted" in text
