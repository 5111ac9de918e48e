"""Which value wins, and where configs come from (README "Running scenarios").

Precedence: schema defaults < the calibrated option < the scenario groups and the primary
config's body < the command line; a calibrated key the scenario sets is not drawn from the
posterior. Configs: the shipped ``conf/``, ``--config-dir``, ``hydra.searchpath`` and
``--config-name``, the same in the pre-flight checks as in Hydra's run. Multiruns: Hydra's
basic sweeper functions, expanded and checked before the first job.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from sim.cli import run as run_cli
from sim.config import CALIBRATED_GROUP, CONF_DIR, GROUPS, _leaf_keys, load_config, load_posterior
from sim.errors import ConfigError
from sim.keys import get_path
from sim.params import Config
from sim.posterior import PosteriorSample
from sim.runner import replication_config

#: Folders of conf/ that hold specs of other commands, not parts of the ozg-sim config.
SPEC_FOLDERS = ("experiment", "calibration")
REPO = Path(__file__).resolve().parent.parent
#: Replications whose drawn particles the tests compare (enough to see draws vary).
DRAWS = 6


def _keys_of(path: Path) -> set[str]:
    """Dotted keys a shipped config file sets (its group folder is its package)."""
    node = OmegaConf.to_container(OmegaConf.load(path), resolve=False)
    assert isinstance(node, dict)
    node.pop("defaults", None)
    node.pop("hydra", None)
    rel = path.relative_to(CONF_DIR)
    package = "" if len(rel.parts) == 1 or "@package _global_" in path.read_text() \
        else rel.parts[0]
    return _leaf_keys(node, package)


def _calibrated_keys() -> set[str]:
    keys: set[str] = set()
    for f in (CONF_DIR / CALIBRATED_GROUP).glob("*.yaml"):
        keys |= _keys_of(f) - {"posterior"}
    return keys


def test_no_shipped_scenario_file_sets_a_calibrated_key() -> None:
    """The calibrated option comes first; so that it is not silently overridden, no file
    outside conf/calibrated sets a key one of its options sets."""
    calibrated = _calibrated_keys()
    assert "staffing.team_fte" in calibrated and "development.effort_person_days" in calibrated
    scenario = [f for f in CONF_DIR.rglob("*.yaml")
                if f.relative_to(CONF_DIR).parts[0] not in (CALIBRATED_GROUP, *SPEC_FOLDERS,
                                                            "hydra")]  # Hydra's own settings
    # the scenario groups, and executor (where replications run: never a result)
    assert {f.parent.name for f in scenario} == ({CONF_DIR.name, *GROUPS, "executor"}
                                                 - {CALIBRATED_GROUP})
    for f in scenario:
        assert not _keys_of(f) & calibrated, f
    text = (CONF_DIR / "config.yaml").read_text()
    assert text.index("calibrated: historical") < text.index("world: germany")


def test_calibrated_none_holds_the_documented_defaults_of_every_calibrated_key() -> None:
    none = OmegaConf.to_container(OmegaConf.load(CONF_DIR / CALIBRATED_GROUP / "none.yaml"))
    assert _keys_of(CONF_DIR / CALIBRATED_GROUP / "none.yaml") == _calibrated_keys()
    cfg = load_config(["world=toy", "calibrated=none"])
    schema = Config()
    for key in _calibrated_keys():
        value = get_path(none, key)
        assert get_path(cfg, key) == value == get_path(schema, key), key
    assert cfg.posterior is None


def test_the_shipped_default_draws_every_calibrated_key() -> None:
    cfg = load_config(["world=toy"])
    assert isinstance(cfg.posterior, PosteriorSample)
    full = load_posterior("historical_posterior.csv")
    assert cfg.posterior == full and len(full.keys) == len(_calibrated_keys())
    assert cfg.development.effort_person_days == 1047.0  # the point estimate


@pytest.fixture
def user_dir(tmp_path: Path) -> Path:
    """A user's config folder: a staffing option that sets a calibrated key, a strategy
    option, and a primary config that builds on the shipped one."""
    d = tmp_path / "myconf"
    (d / "staffing").mkdir(parents=True)
    (d / "strategy").mkdir()
    (d / "staffing" / "mine.yaml").write_text(
        "defaults:\n  - historical\n  - _self_\nname: mine\nteam_fte: 4.5\n")
    (d / "strategy" / "mine.yaml").write_text(
        "name: mine\nmode_by_type: {typ23: efv, typ45: efa}\n")
    (d / "study.yaml").write_text(
        "defaults:\n  - config\n  - _self_\npriority:\n  common_weight: 0.2\n"
        "hydra:\n  run:\n    dir: " + str(tmp_path / "study_runs") + "/${now:%H%M%S}\n")
    return d


def _drawn(cfg: Config, key: str) -> set[float]:
    return {get_path(replication_config(cfg, r), key) for r in range(DRAWS)}


def test_a_user_group_file_wins_over_calibrated_values_and_draws(user_dir: Path) -> None:
    cfg = load_config(["world=toy", "staffing=mine"], config_dirs=[user_dir])
    assert cfg.staffing.name == "mine" and cfg.staffing.team_fte == 4.5
    assert cfg.staffing.attrition_per_year == 0.08  # from the shipped option it extends
    assert isinstance(cfg.posterior, PosteriorSample)
    assert "staffing.team_fte" not in cfg.posterior.keys
    assert _drawn(cfg, "staffing.team_fte") == {4.5}
    assert len(_drawn(cfg, "staffing.bund_fte")) > 1  # the other keys are still drawn
    # the same through hydra.searchpath
    via = load_config(["world=toy", "staffing=mine", f"hydra.searchpath=[file://{user_dir}]"])
    assert via.staffing.team_fte == 4.5 and via.posterior == cfg.posterior


def test_the_command_line_wins_over_a_user_file_and_calibrated_values(user_dir: Path) -> None:
    cfg = load_config(["world=toy", "staffing=mine", "staffing.team_fte=2.5",
                       "sharing.efa.propensity=0.7"], config_dirs=[user_dir])
    assert cfg.staffing.team_fte == 2.5 and cfg.sharing.efa.propensity == 0.7
    assert _drawn(cfg, "sharing.efa.propensity") == {0.7}
    assert _drawn(cfg, "staffing.team_fte") == {2.5}


def test_an_edit_in_config_yaml_wins_over_calibrated_values_and_draws(tmp_path: Path) -> None:
    conf = tmp_path / "conf"
    shutil.copytree(CONF_DIR, conf)
    text = (conf / "config.yaml").read_text()
    (conf / "config.yaml").write_text(text.replace("\nreplications: 10\n",
                                                   "\nreplications: 10\npriority:\n"
                                                   "  common_weight: 0.2\n"))
    cfg = load_config(["world=toy"], conf_dir=conf)
    assert cfg.priority.common_weight == 0.2 and _drawn(cfg, "priority.common_weight") == {0.2}
    assert len(_drawn(cfg, "development.effort_person_days")) > 1
    assert load_config(["world=toy", "priority.common_weight=0.9"],
                       conf_dir=conf).priority.common_weight == 0.9


def test_a_user_primary_config_builds_on_the_shipped_one(user_dir: Path) -> None:
    cfg = load_config(["world=toy"], config_dirs=[user_dir], config_name="study")
    assert cfg.priority.common_weight == 0.2 and cfg.strategy.name == "efa"
    assert _drawn(cfg, "priority.common_weight") == {0.2}
    root, key = run_cli.output_root(["world=toy"], False, (user_dir,), "study")
    assert key == "hydra.run.dir" and root == user_dir.parent / "study_runs"


def test_group_options_and_errors_cover_the_whole_search_path(user_dir: Path) -> None:
    with pytest.raises(ConfigError, match=r"strategy='nope' is not allowed: one of efa, efv, "
                                          r"einzel, mine, mixed$"):
        load_config(["strategy=nope"], config_dirs=[user_dir])
    with pytest.raises(ConfigError, match=r"one of efa, efv, einzel, mixed$"):
        load_config(["strategy=mine"])
    with pytest.raises(ConfigError, match=r"--config-dir .* is not allowed: not a folder"):
        load_config([], config_dirs=[user_dir / "missing"])


def test_a_redrawn_manifest_reads_the_marginal_the_run_drew(user_dir: Path) -> None:
    cfg = load_config(["world=toy", "staffing=mine"], config_dirs=[user_dir])
    assert isinstance(cfg.posterior, PosteriorSample)
    assert load_posterior(repr(cfg.posterior)) == cfg.posterior


# --------------------------------------------------------------------------- multiruns


@pytest.mark.parametrize(("overrides", "jobs"), [
    (["seed=range(1,4)"], [["seed=1"], ["seed=2"], ["seed=3"]]),
    (["replications=range(2,6,2)"], [["replications=2"], ["replications=4"]]),
    (["strategy=choice(efa,efv)"], [["strategy=efa"], ["strategy=efv"]]),
    (["strategy=glob(ef*)", "seed=1,2"],
     [["strategy=efa", "seed=1"], ["strategy=efa", "seed=2"],
      ["strategy=efv", "seed=1"], ["strategy=efv", "seed=2"]]),
    (["strategy=efa,efv", "world=toy"], [["strategy=efa", "world=toy"],
                                         ["strategy=efv", "world=toy"]]),
])
def test_multiruns_expand_like_hydras_basic_sweeper(overrides: list[str],
                                                    jobs: list[list[str]]) -> None:
    assert run_cli.expand_multirun(overrides) == jobs


def test_glob_sees_user_options_and_bad_sweeps_are_refused(user_dir: Path) -> None:
    assert run_cli.expand_multirun(["strategy=glob(m*)"], (user_dir,)) == [
        ["strategy=mine"], ["strategy=mixed"]]
    with pytest.raises(ConfigError, match=r"^seed=interval\(0,1\) is not allowed: Hydra's "
                                          "basic sweeper sweeps discrete values only"):
        run_cli.expand_multirun(["seed=interval(0,1)"])
    with pytest.raises(ConfigError, match=r"strategy=glob\(zz\*\) is not allowed: it selects "
                                          "no value"):
        run_cli.expand_multirun(["strategy=glob(zz*)"])
    with pytest.raises(ConfigError, match="strategy='nope' is not allowed: one of"):
        run_cli.check_multirun(["world=toy", "strategy=choice(efa,nope)"])


def test_a_multirun_sums_the_cost_of_its_jobs() -> None:
    one = load_config(["world=toy", "replications=20"]).estimated_cost_s()
    budget = f"max_cost_s={2.5 * one:.6f}"
    run_cli.check_multirun(["world=toy", "replications=20", "seed=range(1,3)", budget])
    with pytest.raises(ConfigError, match="3 jobs"):
        run_cli.check_multirun(["world=toy", "replications=20", "seed=range(1,4)", budget])


# --------------------------------------------------------------------------- the command


def _ozg_sim(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sim", *args], capture_output=True,
                          text=True, timeout=300, cwd=cwd,
                          env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})


def test_ozg_sim_with_a_config_dir_runs_the_users_option(user_dir: Path,
                                                         tmp_path: Path) -> None:
    out = tmp_path / "run"
    r = _ozg_sim("--config-dir", str(user_dir), "staffing=mine", "world=toy",
                 "replications=2", "workers=1", f"hydra.run.dir={out}", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["config"]["staffing"]["team_fte"] == 4.5
    drawn = manifest["calibrated_draws"]["posterior"]["keys"]
    assert "staffing.team_fte" not in drawn and "staffing.bund_fte" in drawn
    bad = _ozg_sim("-cd", str(user_dir), "strategy=nope", "world=toy", cwd=tmp_path)
    assert bad.returncode == 2
    assert bad.stderr.strip().splitlines() == [
        "ozg-sim: error: strategy='nope' is not allowed: one of efa, efv, einzel, mine, mixed"]
    assert not (tmp_path / "outputs").exists()
    cp = _ozg_sim("--config-path", str(user_dir), cwd=tmp_path)
    assert cp.returncode == 2 and "--config-dir DIR" in cp.stderr



def test_calibrate_apply_refuses_a_parameter_a_shipped_scenario_file_sets() -> None:
    """A calibrated value of a key config.yaml sets would be overridden by it: apply=true
    refuses such a spec before it computes; the shipped spec passes."""
    from sim.calibration.spec import load_spec
    from sim.cli.calibrate import check_apply

    check_apply("historical", load_spec("historical", {}, []).keys)
    with pytest.raises(ConfigError, match=r"^parameters\.development\.delay_cv is not allowed "
                                          "with apply=true: a shipped scenario file"):
        check_apply("historical", ["development.effort_sigma", "development.delay_cv"])
