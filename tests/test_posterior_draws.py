"""Calibrated parameters drawn from the posterior per replication (``sim.posterior``,
``calibrated_draws``): the file format, the draw as a function of seed and replication
alone (the same for every strategy), runs and sweeps that use it (cache keys naming the
drawn values, the same tables on 1 and 2 workers), the point-estimate option, and the
config layer that reads the file.
"""

from __future__ import annotations

import copy
import functools
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import TOY, make_config

from sim import sweep as sweep_mod
from sim.config import CONF_DIR, load_config, load_posterior
from sim.errors import ConfigError
from sim.figures.charts import caption_tail, new_figure, with_tail
from sim.figures.recipes import SENSITIVITY_RECIPES, draws_sentence
from sim.keys import to_dict
from sim.posterior import PosteriorSample, draws_record, parse_posterior, posterior_csv
from sim.provenance import config_hash
from sim.runner import replication_config, run_replications
from sim.sweep import ConfigFactory, Sweep, run_key
from sim.world import World

KEYS = ["development.effort_person_days", "sharing.efa.decision_months"]


def _sample(n: int = 5) -> PosteriorSample:
    values = np.column_stack([np.linspace(600, 1400, n), np.linspace(2, 10, n)])
    return PosteriorSample("test", KEYS, values, np.arange(1, n + 1, dtype=float))


def test_file_round_trip_and_bad_files() -> None:
    s = _sample()
    text = posterior_csv(s, {"command": "ozg-sim-calibrate test", "seed": 1})
    assert text.splitlines()[0] == "# format: ozg-sim posterior 1"
    back = parse_posterior(text, "test")
    assert back == s and back.digest == s.digest and back.keys == KEYS
    np.testing.assert_allclose(back.weights, np.arange(1, 6) / 15)
    with pytest.raises(ConfigError, match="first line"):
        parse_posterior(text.split("\n", 1)[1], "test")
    with pytest.raises(ConfigError, match="columns"):
        parse_posterior("# format: ozg-sim posterior 1\nparticle,weight\n0,1\n", "test")
    with pytest.raises(ConfigError, match="weights"):
        PosteriorSample("x", KEYS, np.ones((2, 2)), np.array([1.0, -1.0]))
    assert "sha256" in repr(s) and "5 particles" in repr(s)


def test_draws_follow_the_weights_and_depend_only_on_seed_and_replication() -> None:
    s = _sample()
    idx = np.array([s.draw_index(1, r) for r in range(6000)])
    np.testing.assert_allclose(np.bincount(idx, minlength=5) / len(idx), s.weights, atol=0.02)
    assert [s.draw_index(1, r) for r in range(50)] == [s.draw_index(1, r) for r in range(50)]
    assert [s.draw_index(1, r) for r in range(50)] != [s.draw_index(2, r) for r in range(50)]
    assert s.draw(1, 3) == dict(zip(KEYS, s.values[s.draw_index(1, 3)], strict=True))
    # an experiment that sets a key draws only the others; all set: nothing to draw
    rest = s.without(["development.effort_person_days"])
    assert rest is not None and rest.keys == KEYS[1:] and rest.draw_index(1, 3) == \
        s.draw_index(1, 3)
    assert s.without(KEYS) is None and s.without([]) is s


def test_replication_config_draws_the_same_for_every_strategy() -> None:
    s = _sample()
    for strategy in ("efa", "efv"):
        cfg = make_config(f"strategy={strategy}", world=TOY, seed=3)
        cfg.posterior = s
        for r in range(4):
            rc = replication_config(cfg, r)
            drawn = s.draw(3, r)
            assert rc.development.effort_person_days == pytest.approx(drawn[KEYS[0]])
            assert rc.sharing.efa.decision_months == pytest.approx(drawn[KEYS[1]])
            assert rc.posterior is None and cfg.posterior is s  # the original is untouched
    point = make_config(world=TOY, calibrated_draws="point")
    point.posterior = s
    assert replication_config(point, 2) is point
    with pytest.raises(ConfigError, match="calibrated_draws='foo' is not allowed: one of "
                                          "posterior, point"):
        make_config(world=TOY, calibrated_draws="foo").validate()


def test_runs_use_the_drawn_parameters_on_any_number_of_workers(toy_world: World) -> None:
    cfg = make_config(world=TOY, replications=3, end="2022-12")
    cfg.posterior = _sample()
    one = run_replications(toy_world, cfg, workers=1)
    two = run_replications(toy_world, cfg, workers=2)
    for name in one.tables:
        pd.testing.assert_frame_equal(one.tables[name], two.tables[name], obj=name)
    # replication r is the run of the point configuration at draw r
    for r in range(3):
        fixed = copy.deepcopy(cfg)
        fixed.posterior = None
        for k, v in cfg.posterior.draw(cfg.seed, r).items():
            setattr(fixed.development if k.startswith("development") else fixed.sharing.efa,
                    k.rsplit(".", 1)[1], v)
        fixed.replications = r + 1
        ref = run_replications(toy_world, fixed, workers=1).tables["national"]
        got = one.tables["national"]
        pd.testing.assert_frame_equal(
            got[got["replication"] == r].reset_index(drop=True),
            ref[ref["replication"] == r].reset_index(drop=True))
    # the point option: every replication at the same values, other results
    point = copy.deepcopy(cfg)
    point.calibrated_draws = "point"
    assert not one.tables["national"].equals(
        run_replications(toy_world, point, workers=1).tables["national"])


def test_sweep_cache_keys_name_the_drawn_parameters() -> None:
    cfg = make_config(world=TOY, replications=4)
    cfg.posterior = _sample()
    sw = Sweep("t", [{}], [cfg], 4)
    keys = [key for _p, _r, _c, key in sw.runs()]
    for r, key in enumerate(keys):
        assert key == run_key(replication_config(cfg, r), r)
        assert key.split("-")[0] == config_hash(replication_config(cfg, r))
    # another posterior with other values: other keys for the same replications
    other = copy.deepcopy(cfg)
    other.posterior = PosteriorSample("test", KEYS, cfg.posterior.values * 1.1,
                                      cfg.posterior.weights)
    assert [k for *_x, k in Sweep("t", [{}], [other], 4).runs()] != keys


@pytest.fixture
def conf_with_posterior(tmp_path: Path) -> Path:
    """A copy of conf/ whose calibrated option ``test`` names a posterior file."""
    conf = tmp_path / "conf"
    shutil.copytree(CONF_DIR, conf)
    (conf / "calibrated" / "test.yaml").write_text(
        "# @package _global_\ndevelopment:\n  effort_person_days: 1000.0\n"
        "posterior: test_posterior.csv\n")
    (conf / "calibrated" / "test_posterior.csv").write_text(posterior_csv(_sample(), {}))
    return conf


def test_the_config_layer_reads_the_posterior_file(conf_with_posterior: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = load_config(["world=toy", "calibrated=test"], conf_dir=conf_with_posterior)
    assert cfg.posterior == _sample() and cfg.development.effort_person_days == 1000.0
    assert "sha256" in str(cfg.posterior) and len(config_hash(cfg)) == 16
    assert load_config(["world=toy", "calibrated=none"],
                       conf_dir=conf_with_posterior).posterior is None
    with pytest.raises(ConfigError, match=r"posterior='nope\.csv' is not allowed: no file"):
        load_posterior("nope.csv", conf_with_posterior)
    # a sweep point that sets a drawn key keeps its value; the rest is drawn
    monkeypatch.setattr(sweep_mod, "load_config",
                        functools.partial(load_config, conf_dir=conf_with_posterior))
    made = ConfigFactory(["world=toy", "calibrated=test"]).make(
        {"development.effort_person_days": 777.0})
    assert made.posterior.keys == KEYS[1:]
    assert replication_config(made, 0).development.effort_person_days == 777.0


def test_captions_and_manifests_say_which_draws() -> None:
    s = _sample()
    post = draws_record("posterior", s)
    assert post["mode"] == "posterior" and post["posterior"]["sha256"] == s.digest
    assert "parameter uncertainty and chance" in post["description"]
    point = draws_record("point", s)
    assert "point estimate" in point["description"] and "chance alone" in point["description"]
    assert draws_record("posterior", None)["mode"] == "none"


def test_experiment_figure_captions_say_which_draws() -> None:
    """Every experiment figure's note ends with how its calibrated parameters were drawn
    (the manifest's record), in the figure's language; sensitivity charts do not."""
    s = _sample()
    post = {"calibrated_draws": draws_record("posterior", s)}
    en = draws_sentence(post, "en")
    assert f"({s.n_particles} particles)" in en and "parameter uncertainty and chance" in en
    assert "Parameterunsicherheit und Zufall" in draws_sentence(post, "de")
    assert "chance alone" in draws_sentence({"calibrated_draws": draws_record("point", s)},
                                            "en")
    point = draws_sentence({"calibrated_draws": draws_record("point", s)}, "en")
    assert "chance alone" in point
    assert draws_sentence({}, "en") == ""  # folders written before the record
    assert with_tail("Lines: median.") == "Lines: median."
    with caption_tail(en):
        fig, _body = new_figure(6.0, 2.0, "Lines: median.")
        note = " ".join(t.get_text() for sf in fig.subfigs for t in sf.texts)
        assert note.replace("\n", " ").endswith(en.split()[-1])
        assert "parameter uncertainty" in note.replace("\n", " ")
    assert with_tail("x") == "x"  # the context is gone after it
    assert "morris" in SENSITIVITY_RECIPES and "sobol" in SENSITIVITY_RECIPES


def test_a_written_configuration_names_its_sample_and_reads_it_back(tmp_path: Path) -> None:
    """Manifests hold the sample as one line with its digest (``to_dict``); reading that
    configuration back (a redraw from a run folder) loads the same sample, and refuses a
    sample file that changed since."""
    cfg = load_config([])
    assert isinstance(cfg.posterior, PosteriorSample)
    line = to_dict(cfg)["posterior"]
    assert isinstance(line, str) and cfg.posterior.digest in line
    assert load_posterior(line) == cfg.posterior
    conf = tmp_path / "conf"
    shutil.copytree(CONF_DIR / "calibrated", conf / "calibrated")
    f = conf / "calibrated" / "historical_posterior.csv"
    f.write_text(f.read_text(encoding="utf-8").replace(",0.", ",0.1", 1), encoding="utf-8")
    with pytest.raises(ConfigError, match="changed since"):
        load_posterior(line, conf)
