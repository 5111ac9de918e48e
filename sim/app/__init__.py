"""The what-if workbench (``ozg-sim-app``): a local web app built with Panel in which a
workshop changes a lever and sees the rollout move (:mod:`sim.app.ui`), its texts in German
and English (:mod:`sim.app.texts`), the figures it draws (:mod:`sim.app.figures`) and what
it exports (:mod:`sim.app.export`). The scenarios are :mod:`sim.whatif`'s and run on
:mod:`sim.workbench`'s pool; importing this package loads no web framework."""
