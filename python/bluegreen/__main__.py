"""`python -m bluegreen` (and the bundled zipapp) enter here."""

from bluegreen.cli.entry import main

if __name__ == "__main__":
    main()
