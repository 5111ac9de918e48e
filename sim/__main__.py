"""``python -m sim``: the same as the ``ozg-sim`` console script."""

from sim.cli.run import main

if __name__ == "__main__":
    main()
