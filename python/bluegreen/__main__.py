"""`python -m bluegreen` (and the bundled zipapp) enter here."""

from bluegreen.entry import main

if __name__ == "__main__":
    main()
