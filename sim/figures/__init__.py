"""The figures wing: every chart of ozg-sim, drawn only from saved tables.

A chart never sees a live run: it reads the tidy tables a run, a sweep or a calibration
saved, so it can be redrawn without rerunning the model, and no module of this package
imports the model, SimPy, Hydra, the runner, the sweep, the writer or the commands
(``tests/test_figures_imports.py`` checks it). The rooms, from the ground up:

==================  ======================================================================
``levels``          one entry per level of ``strategy``, ``funding``, ``operation`` (colour,
                    line, marker, words en/de) and per payer party; the display orders
``style``           palette, colour maps, sizes, rcParams; styles and order of levels and
                    groups (:func:`~sim.figures.style.group_styles`,
                    :func:`~sim.figures.style.level_order`)
``labels``          every word in English and German, parameter and metric names, number
                    and month formats
``formats``         number, per-cent and month formats in English and German (re-exported
                    by ``labels``)
``timeline``        the rollout timeline of a run (swim lanes per topic field and Land) and
                    of an experiment's levels
``scenarios``       a configuration named by all its scenario axes, one wording per level
                    (titles, legends, compare labels, folder labels)
``geo``             boundaries of the Länder and Kreise and the choropleth
``tables``          exactly the numbers a chart draws (``fan_table`` ... ``size_class_table``,
                    the run chart's ``coverage_table``), all bands through
                    :func:`sim.bands.band_table`
``save``            :func:`~sim.figures.save.save_figure`: PNG, SVG, PDF and the sidecar CSV
                    with provenance lines
``axes``            axes-level charts (fan, difference band, map, heatmap, bars, ...) and the
                    axis helpers
``charts``          figure builders of experiments, ``*_figure -> (fig, plotted_data)``
``exploration``     the charts of an exploration: robustness per setting of the other levers,
                    regret of every lever setting (minimax vs. the median)
``run``             the chart of one ``ozg-sim`` run
``recipes``         which figures and tables an experiment folder gets (``figures:`` of
                    ``conf/experiment/*.yaml``) and drawing them
``calibration``     the figures of an ``ozg-sim-calibrate`` folder
==================  ======================================================================

Each room imports only rooms above it in this table. The command that redraws a folder,
``ozg-sim-figures``, is :mod:`sim.cli.figures`.

Importing the package selects matplotlib's non-interactive Agg backend (figures are files,
never windows), once for every room.
"""

import matplotlib

matplotlib.use("Agg")
