"""The commands: every console script of ozg-sim, thin over the library.

=====================  ======================  ==========================================
console script         module                  what it does
=====================  ======================  ==========================================
``ozg-sim``            :mod:`sim.cli.run`      one configuration, its replications, a run
                                               folder with tables and the run chart
``ozg-sim-experiment`` :mod:`sim.cli.experiment`  a named sweep end to end
``ozg-sim-figures``    :mod:`sim.cli.figures`  redraw the figures of a run or experiment
``ozg-sim-compare``    :mod:`sim.cli.compare`  runs and experiments side by side
``ozg-sim-calibrate``  :mod:`sim.cli.calibrate`  fit uncertain parameters to the record
``ozg-sim-cache``      :mod:`sim.cli.cache`    where the run cache is, its size; prune it
=====================  ======================  ==========================================

They share one error style, one option parser and one progress display
(:mod:`sim.cli.common`): bad input prints ``<tool>: error: <key>=<value> is not allowed:
<what is>`` on one line, exits with code 2 and writes nothing. Nothing in the package imports
this wing.
"""
