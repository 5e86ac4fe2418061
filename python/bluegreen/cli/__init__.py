"""The command line: entry.py (the console entry: the rollback's quick path, then click), app.py (the click
commands, click only: options → commands.py; errors to exit codes), options.py (what options mean, checked once),
report_file.py (--report). This package's own import is empty on purpose: the quick path imports entry.py before
click."""
