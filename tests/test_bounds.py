"""Bounded inputs (issue 12, part 2): every numeric parameter has a physical range, a run or
sweep above its cost budget is refused, ``+``/``++`` typos and repeated keys fail, a
multirun is checked whole before any job runs, and labels cannot move a folder.

The bound cases are generated from :data:`sim.bounds.BOUNDS_BY_CLASS`, so a new bound is tested
without a new test; a numeric field without a bound fails
:func:`test_every_numeric_field_is_bounded`.
"""

from __future__ import annotations

import copy
import math
import os
import subprocess
import sys
from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import Any, get_args, get_origin

import pytest

from sim.bounds import DEFAULT_MAX_COST_S, MAX_BUILDER_FTE, Bound
from sim.cli import run as run_cli
from sim.config import (
    CONF_DIR,
    _schema_hints,
    _unwrap,
    check_repeats,
    load_config,
    read_yaml,
)
from sim.errors import ConfigError
from sim.params import BOUNDS, Config, _check_bounds
from sim.ranges import check_ranges, parse_ranges
from sim.sweep import make_sweep

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def default_cfg() -> Config:
    """The default configuration (its groups have a programme, a support and a phase)."""
    return load_config([])


def _instances(obj: Any, path: str = "") -> dict[type, tuple[str, Any]]:
    """The first instance of each parameter class in a config tree, with its dotted path."""
    out: dict[type, tuple[str, Any]] = {}
    if is_dataclass(obj) and not isinstance(obj, type):
        out[type(obj)] = (path, obj)
        children = [(f.name, getattr(obj, f.name)) for f in fields(obj)]
    elif isinstance(obj, dict):
        children = sorted(obj.items())
    elif isinstance(obj, list):  # list entries are named key[i] in messages
        for i, child in enumerate(obj):
            for cls, found in _instances(child, f"{path}[{i}]").items():
                out.setdefault(cls, found)
        return out
    else:
        return out
    for name, child in children:
        for cls, found in _instances(child, f"{path}.{name}" if path else name).items():
            out.setdefault(cls, found)
    return out


def _schema_classes(cls: type = Config) -> set[type]:
    """Every parameter dataclass reachable from ``Config`` through its type hints."""
    seen = {cls}
    for hint in _schema_hints(cls).values():
        for t in (_unwrap(hint), *get_args(_unwrap(hint))):
            t = _unwrap(t)
            inner = [t, *get_args(t)]
            for c in inner:
                if isinstance(c, type) and is_dataclass(c) and c not in seen:
                    seen |= _schema_classes(c)
    return seen


def _is_numeric(hint: Any) -> bool:
    t = _unwrap(hint)
    if get_origin(t) is list:
        t = get_args(t)[0]
    return t in (int, float)


def test_every_numeric_field_is_bounded() -> None:
    """No numeric parameter (or numeric list) of the schema lacks an upper and lower bound."""
    missing = [f"{cls.__name__}.{name}" for cls in _schema_classes()
               for name, hint in _schema_hints(cls).items()
               if _is_numeric(hint) and name not in BOUNDS.get(cls, {})]
    assert missing == []
    for fields_ in BOUNDS.values():
        for b in fields_.values():
            assert math.isfinite(b.lo) and math.isfinite(b.hi) and b.lo < b.hi and b.reason


def test_every_bounded_class_occurs_in_the_default_config(default_cfg: Config) -> None:
    """So that the cases below reach every bound through a real configuration."""
    assert set(BOUNDS) <= set(_instances(default_cfg))


def _outside(b: Bound) -> list[float]:
    """Values just outside a bound: below (or at an open lower end) and above."""
    step = 1 if b.integer else max(1e-6, 1e-3 * (b.hi - b.lo))
    low = b.lo if b.lo_open else b.lo - step
    return [low, b.hi + step, b.hi * 1e6 + 1]


CASES = [(cls, name, b) for cls, fs in BOUNDS.items() for name, b in fs.items()]


@pytest.mark.parametrize(("cls", "name", "b"), CASES,
                         ids=[f"{c.__name__}.{n}" for c, n, _ in CASES])
def test_each_bound_refuses_outside_and_accepts_its_ends(
        default_cfg: Config, cls: type, name: str, b: Bound) -> None:
    """Below and above: one line naming the dotted key, the range and the reason; at the
    ends (and inside for an open lower end) the field's own check passes."""
    for value in _outside(b):
        cfg = copy.deepcopy(default_cfg)
        path, obj = _instances(cfg)[cls]
        key = f"{path}.{name}" if path else name
        if isinstance(getattr(obj, name), list):
            getattr(obj, name)[0] = value
            key += ".0"
        else:
            setattr(obj, name, int(value) if b.integer else value)
        with pytest.raises(ConfigError) as exc:
            cfg.validate()
        msg = str(exc.value)
        assert msg.startswith(f"{key}="), msg
        assert "\n" not in msg and b.reason in msg
    cfg = copy.deepcopy(default_cfg)
    path, obj = _instances(cfg)[cls]
    inside = b.lo + (b.hi - b.lo) / 2 if b.lo_open else b.lo
    for value in (inside, b.hi):
        v: Any = int(value) if b.integer else value
        setattr(obj, name, [v] * len(getattr(obj, name))
                if isinstance(getattr(obj, name), list) else v)
        _check_bounds(obj, path)


@pytest.mark.parametrize("override", ["staffing.team_fte=1e-9", "staffing.bund_fte=1e12"])
def test_the_values_that_hung_a_run_fail_at_once(override: str, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """Both hung ``ozg-sim`` before (millions of teams); now one line, exit 2, no folder."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exc:
        run_cli.main(["world=toy", override])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"ozg-sim: error: {override.split('=')[0]}=") and "\n" not in err
    assert list(tmp_path.iterdir()) == []


def test_peak_staff_of_a_builder_is_bounded_jointly(default_cfg: Config) -> None:
    """Each value within its range, together beyond any labour market: refused."""
    cfg = copy.deepcopy(default_cfg)
    cfg.staffing.bund_fte, cfg.staffing.staff_cap_factor = 10_000.0, 2.0
    assert cfg.staffing.peak_builder_fte() <= MAX_BUILDER_FTE
    cfg.validate()
    cfg.staffing.dev_fte_factor = 5.0
    with pytest.raises(ConfigError, match=r"^staffing\.dev_fte_factor=5\.0 .*FTE"):
        cfg.validate()


@pytest.mark.parametrize("prefix", ["", "+", "++"])
def test_key_typos_fail_with_the_nearest_keys_whatever_the_prefix(prefix: str) -> None:
    with pytest.raises(ConfigError) as exc:
        load_config([f"{prefix}development.effort_person_day=5000"])
    msg = str(exc.value)
    assert msg.startswith("development.effort_person_day is not allowed: unknown key")
    assert "development.effort_person_days" in msg


@pytest.mark.parametrize("override", ["+foo=1", "++staffing.team_fte.x=1",
                                      "+funding.programmes.x.amount_eur=1",
                                      "+sharing.efa.fee=1"])
def test_other_unknown_keys_fail(override: str) -> None:
    with pytest.raises(ConfigError, match="unknown key"):
        load_config([override])


def test_known_keys_with_prefixes_and_indices_pass() -> None:
    cfg = load_config(["++seed=3", "staffing.municipal_fte_by_size_class.3=2",
                       "funding.programmes.0.agreement_months=2",
                       "state_programmes.hessen.support.0.effort_factor=0.5"])
    assert cfg.seed == 3 and cfg.staffing.municipal_fte_by_size_class[3] == 2
    assert cfg.funding.programmes[0].agreement_months == 2


def test_key_typo_through_the_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    """``+development.effort_person_day=5000`` used to run the defaults."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exc:
        run_cli.main(["world=toy", "+development.effort_person_day=5000"])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert "development.effort_person_days" in err and "\n" not in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("overrides", [["seed=1", "seed=2"], ["strategy=efa", "strategy=efv"],
                                       ["seed=1", "++seed=2"]])
def test_a_key_given_twice_with_different_values_fails(overrides: list[str]) -> None:
    key = overrides[0].split("=")[0]
    with pytest.raises(ConfigError) as exc:
        check_repeats(overrides)
    msg = str(exc.value)
    assert msg.startswith(f"{key} is given twice")
    for ov in overrides:
        assert repr(ov.split("=")[1]) in msg


def test_a_key_given_twice_with_the_same_value_passes() -> None:
    check_repeats(["seed=4", "seed=4", "strategy=efv", "++strategy=efv"])


def test_a_repeated_key_through_the_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    for args in (["world=toy", "seed=1", "seed=2"], ["-m", "strategy=efa", "strategy=efv"]):
        with pytest.raises(SystemExit) as exc:
            run_cli.main(args)
        assert exc.value.code == 2
        err = capsys.readouterr().err.strip()
        assert " is given twice with different values" in err and "\n" not in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["/../../../x", "../x", "a/b", ".hidden", "", "a b",
                                  "x" * 65, "ä"])
def test_labels_that_could_move_a_folder_fail(default_cfg: Config, name: str) -> None:
    """The run folder is named after world, strategy and funding (conf/config.yaml)."""
    for group in ("world", "strategy", "funding", "staffing", "operation"):
        cfg = copy.deepcopy(default_cfg)
        getattr(cfg, group).name = name
        with pytest.raises(ConfigError, match=rf"^{group}\.name=.*plain name"):
            cfg.validate()


def test_world_name_escape_through_an_override() -> None:
    with pytest.raises(ConfigError, match=r"^world\.name='/\.\./\.\./\.\./x' is not allowed"):
        load_config(["world=toy", "world.name=/../../../x"])


@pytest.mark.parametrize("name", ["toy-2", "my.world", "_x", "A9"])
def test_plain_labels_pass(default_cfg: Config, name: str) -> None:
    cfg = copy.deepcopy(default_cfg)
    cfg.world.name = name
    cfg.validate()


def test_cost_guard_refuses_with_the_estimate_and_the_option_allows(
        default_cfg: Config) -> None:
    cfg = copy.deepcopy(default_cfg)
    cfg.replications = 100
    assert cfg.estimated_cost_s() == 100.0  # 100 full-Germany replications of 156 months
    cfg.max_cost_s = 50.0
    with pytest.raises(ConfigError) as exc:
        cfg.validate()
    msg = str(exc.value)
    assert msg.startswith("this run: an estimated 100 core-seconds") and "\n" not in msg
    assert "max_cost_s=50" in msg and "give max_cost_s=100" in msg
    cfg.max_cost_s = 100.0
    cfg.validate()


def test_cost_guard_through_the_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exc:
        run_cli.main(["world=toy", "replications=10000", "end=2050-12", "max_cost_s=100"])
    assert exc.value.code == 2
    estimate = 10_000 * 396 / 156 * 3 / 16  # replications x months/156 x Länder share
    assert f"give max_cost_s={math.ceil(estimate)} " in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_default_run_is_well_within_the_budget(default_cfg: Config) -> None:
    assert default_cfg.estimated_cost_s() < DEFAULT_MAX_COST_S / 100


def test_cost_guard_counts_a_whole_sweep() -> None:
    """Each run alone within the budget, the design together not."""
    design = {"grid": {"staffing.dev_fte_factor": [1.0, 1.5, 2.0, 2.5]}}
    per_point = 4 * 3 / 16  # 4 replications of the toy world (3 of 16 Länder), 156 months
    with pytest.raises(ConfigError, match=r"^sweep t: an estimated 3 core-seconds"):
        make_sweep("t", design, ["world=toy", f"max_cost_s={3.5 * per_point}"], 4, 1)
    sweep = make_sweep("t", design, ["world=toy", f"max_cost_s={4 * per_point}"], 4, 1)
    assert [c.estimated_cost_s() for c in sweep.configs] == [per_point] * 4


def _spec_ranges() -> list[tuple[str, str, Any]]:
    """Every ``[low, high]`` range of the shipped calibration and experiment specs."""
    out = []
    for path in sorted((CONF_DIR / "calibration").glob("*.yaml")):
        out.append((path.name, "parameters", read_yaml(path)["parameters"]))
    for path in sorted((CONF_DIR / "experiment").glob("*.yaml")):
        spec = read_yaml(path)
        lhs = (spec.get("design") or {}).get("lhs")
        if lhs:
            out.append((path.name, "design.lhs.ranges", lhs["ranges"]))
        if "sensitivity" in spec:
            out.append((path.name, "sensitivity.ranges", spec["sensitivity"]["ranges"]))
    return out


@pytest.mark.parametrize(("file", "where", "raw"), _spec_ranges(),
                         ids=[f"{f}:{w}" for f, w, _ in _spec_ranges()])
def test_shipped_priors_and_ranges_lie_within_the_bounds(default_cfg: Config, file: str,
                                                         where: str, raw: Any) -> None:
    check_ranges(parse_ranges(raw, where), default_cfg, where)


@pytest.mark.slow  # a real subprocess composing two jobs: ~5 s quiet, 30 s on a busy host
def test_multirun_checks_every_job_before_the_first(tmp_path: Path) -> None:
    """Job 1's bad value used to be rejected after job 0 had written its folder."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONHASHSEED="0")
    env.pop("PYTHONWARNINGS", None)
    proc = subprocess.run([sys.executable, "-m", "sim.cli.run", "-m", "world=toy",
                           "replications=1", "staffing.team_fte=3,0.1"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300, env=env, check=False)
    assert proc.returncode == 2, proc.stderr
    err = proc.stderr.strip()
    assert err.startswith("ozg-sim: error: staffing.team_fte=0.1 is not allowed")
    assert "\n" not in err
    assert list(tmp_path.iterdir()) == []


def test_multirun_expansion_follows_hydra() -> None:
    jobs = run_cli.expand_multirun(["world=toy", "seed=1,2", "strategy=efa,efv"])
    assert jobs == [["world=toy", f"seed={s}", f"strategy={t}"]
                    for s in (1, 2) for t in ("efa", "efv")]
    assert len(run_cli.expand_multirun(["seed=range(1,4)"])) == 3


def test_multirun_cost_is_checked_in_total() -> None:
    """Two toy jobs of 0.75 core-seconds each: refused under 1.5, one job passes."""
    with pytest.raises(ConfigError, match=r"^this multirun: .*\(2 jobs\)"):
        run_cli.check_multirun(["world=toy", "replications=4", "seed=1,2", "max_cost_s=1.2"])
    run_cli.check_multirun(["world=toy", "replications=4", "seed=1", "max_cost_s=1.2"])
