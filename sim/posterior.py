"""A calibration's posterior sample, and the calibrated parameters each replication draws
from it.

``ozg-sim-calibrate NAME apply=true`` stores the weighted posterior sample beside the point
estimate, in ``conf/calibrated/NAME_posterior.csv`` (format below); the point-estimate file
``conf/calibrated/NAME.yaml`` names it (``posterior: NAME_posterior.csv``) and
:mod:`sim.config` reads it into ``Config.posterior``. With ``calibrated_draws=posterior``
(the default) replication ``r`` of a run or experiment then sets the posterior's keys to
the particle :meth:`PosteriorSample.draw_index` picks for ``(seed, r)``: a function of seed
and replication alone, the same for every strategy and funding level of an experiment, so
paired comparisons keep their common random numbers and bands carry parameter uncertainty
as well as chance. ``calibrated_draws=point`` keeps the point estimate in every
replication (bands of chance alone).

File format (version :data:`FORMAT_VERSION`): ``# key: value`` provenance lines (the first
is ``# format: ozg-sim posterior 1``), then a CSV table with columns ``particle``,
``weight`` (normalised when read) and one column per calibrated dotted config key, one row
per particle of the last ABC-SMC generation (``pandas.read_csv(path, comment="#")``).

This module stands on the ground floor: numpy and pandas only, no files written.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from sim.errors import ConfigError

FORMAT_VERSION = 1
FORMAT_LINE = f"# format: ozg-sim posterior {FORMAT_VERSION}"
#: Stream id of the posterior draw in ``SeedSequence((seed, replication, stream_id))``;
#: apart from the model's streams (``sim.rng.STREAM_IDS``, 1-8 and their successors).
DRAW_STREAM_ID = 100
#: Number format of the file (10 significant digits).
FLOAT_FORMAT = "%.10g"
#: ``Config.calibrated_draws`` values.
DRAW_MODES = ("posterior", "point")


#: The one-line form of a sample in plain-dict configurations (manifests): its ``repr``.
_REFERENCE = re.compile(
    r"^PosteriorSample\('([^']+)', \d+ particles, keys (.*), sha256 ([0-9a-f]{16})\)$")


def parse_reference(text: str) -> tuple[str, str, list[str]] | None:
    """``(name, digest, keys)`` of a sample's one-line form (``repr``), else ``None``."""
    m = _REFERENCE.match(text)
    return (m.group(1), m.group(3), m.group(2).split(", ")) if m else None


class PosteriorSample:
    """A weighted posterior sample of calibrated parameters.

    Not a dataclass on purpose: configurations carry it, and their plain-dict form
    (manifests, config hashes) shows it as one line with its digest, not hundreds of rows.

    Parameters
    ----------
    name : str
        The calibration (``historical``).
    keys : list of str
        Dotted config keys, in the order of ``values``' columns.
    values : ndarray (n, k)
        One row per particle.
    weights : ndarray (n,)
        Non-negative; normalised to sum 1.
    """

    __slots__ = ("digest", "keys", "name", "values", "weights")

    def __init__(self, name: str, keys: Iterable[str], values: np.ndarray,
                 weights: np.ndarray) -> None:
        self.name = str(name)
        self.keys = [str(k) for k in keys]
        self.values = np.asarray(values, dtype=float).reshape(-1, len(self.keys))
        w = np.asarray(weights, dtype=float)
        if len(w) != len(self.values) or len(w) == 0 or not np.all(np.isfinite(w)) \
                or (w < 0).any() or w.sum() <= 0:
            raise ConfigError(f"posterior {self.name!r}: weights must be one non-negative "
                              f"number per particle with a positive sum ({len(w)} weights, "
                              f"{len(self.values)} particles)")
        if not np.all(np.isfinite(self.values)):
            raise ConfigError(f"posterior {self.name!r}: every parameter value must be a "
                              "finite number")
        self.weights = w / w.sum()
        # of the table as the file writes it, so a sample and its file agree
        self.digest = hashlib.sha256(self.to_frame().to_csv(
            index=False, float_format=FLOAT_FORMAT, lineterminator="\n").encode()).hexdigest()[:16]

    def __repr__(self) -> str:
        return (f"PosteriorSample({self.name!r}, {len(self.weights)} particles, keys "
                f"{', '.join(self.keys)}, sha256 {self.digest})")

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PosteriorSample) and other.digest == self.digest \
            and other.name == self.name

    def __hash__(self) -> int:
        return hash((self.name, self.digest))

    @property
    def n_particles(self) -> int:
        return len(self.weights)

    @property
    def ess(self) -> float:
        """Effective sample size ``1 / sum w^2``."""
        return float(1.0 / np.sum(self.weights ** 2))

    def draw_index(self, seed: int, replication: int) -> int:
        """The particle replication ``replication`` of seed ``seed`` uses (drawn with
        probability ``weights`` from its own stream)."""
        rng = np.random.default_rng(np.random.SeedSequence(
            (int(seed), int(replication), DRAW_STREAM_ID)))
        return int(rng.choice(self.n_particles, p=self.weights))

    def draw(self, seed: int, replication: int) -> dict[str, float]:
        """``{key: value}`` of the particle :meth:`draw_index` picks."""
        row = self.values[self.draw_index(seed, replication)]
        return {k: float(v) for k, v in zip(self.keys, row, strict=True)}

    def without(self, keys: Iterable[str]) -> PosteriorSample | None:
        """The marginal sample of the other keys (``None`` if none is left): an
        experiment that sets a key itself draws only the rest."""
        drop = set(keys)
        keep = [i for i, k in enumerate(self.keys) if k not in drop]
        if len(keep) == len(self.keys):
            return self
        if not keep:
            return None
        return PosteriorSample(self.name, [self.keys[i] for i in keep],
                               self.values[:, keep], self.weights)

    def to_frame(self) -> pd.DataFrame:
        """``particle``, ``weight`` and one column per key."""
        df = pd.DataFrame(self.values, columns=self.keys)
        df.insert(0, "weight", self.weights)
        df.insert(0, "particle", np.arange(self.n_particles))
        return df

    def summary(self) -> dict[str, object]:
        """What a manifest records of it."""
        return {"name": self.name, "particles": self.n_particles,
                "effective_sample_size": round(self.ess, 1), "keys": self.keys,
                "sha256": self.digest}


def draws_record(mode: str, sample: PosteriorSample | None) -> dict[str, object]:
    """What a manifest and a caption say about the calibrated parameters of a run:
    ``mode`` (``posterior``, ``point`` or ``none``), the sample's summary and one sentence."""
    if sample is None:
        return {"mode": "none", "posterior": None,
                "description": "Calibrated parameters: none drawn (no posterior sample in "
                               "this configuration); the spread across replications is "
                               "chance alone."}
    if mode == "posterior":
        text = (f"Calibrated parameters drawn per replication from the posterior of "
                f"'{sample.name}' ({sample.n_particles} particles), the same draw for every "
                "strategy: the spread across replications is parameter uncertainty and chance.")
    else:
        text = (f"Calibrated parameters at the point estimate of '{sample.name}' in every "
                "replication (calibrated_draws=point): the spread across replications is chance "
                "alone.")
    return {"mode": mode, "posterior": sample.summary(), "description": text}


def posterior_csv(sample: PosteriorSample, header: Mapping[str, object]) -> str:
    """The text of a posterior file: the format line, ``# key: value`` provenance lines,
    then the table (values with 10 significant digits)."""
    lines = [FORMAT_LINE, *(f"# {k}: {v}" for k, v in header.items())]
    body = sample.to_frame().to_csv(index=False, float_format=FLOAT_FORMAT, lineterminator="\n")
    return "\n".join(lines) + "\n" + body


def parse_posterior(text: str, name: str) -> PosteriorSample:
    """A :class:`PosteriorSample` from the text of a posterior file; a
    :class:`ConfigError` naming the file's problem otherwise."""
    first = text.lstrip().splitlines()[0] if text.strip() else ""
    if first.strip() != FORMAT_LINE:
        raise ConfigError(f"posterior {name!r}: first line {first!r} is not allowed: "
                          f"{FORMAT_LINE!r}")
    df = pd.read_csv(io.StringIO(text), comment="#")
    missing = {"particle", "weight"} - set(df.columns)
    keys = [c for c in df.columns if c not in ("particle", "weight")]
    if missing or not keys:
        raise ConfigError(f"posterior {name!r}: columns {list(df.columns)} are not allowed: "
                          "particle, weight and at least one parameter key")
    return PosteriorSample(name, keys, df[keys].to_numpy(dtype=float),
                           df["weight"].to_numpy(dtype=float))


__all__ = ["DRAW_MODES", "DRAW_STREAM_ID", "FORMAT_LINE", "FORMAT_VERSION", "PosteriorSample",
           "draws_record", "parse_posterior", "posterior_csv"]
