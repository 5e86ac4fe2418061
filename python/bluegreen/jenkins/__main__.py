"""`python -m bluegreen.jenkins ARGS` = `bluegreen jenkins ARGS`, through the main CLI's error handling."""

import sys

from bluegreen.cli.app import main

if __name__ == "__main__":
    main(["jenkins", *sys.argv[1:]])
