"""The fault bench (`make chaos`, issue 15): one fault per row, injected at an exact phase of a real deploy or
rollback under the zero-downtime bench's load, then what the user and the operator see afterwards.

    stack.py   one throw-away stack per row (nginx 1.22 for `reload`, 1.30 + njs for `shared-dict`), the CLI
    faults.py  the faults themselves (nginx files, containers, host tmpfs): the module that breaks things
    dockerd.py the Docker engine's restart for row 11 (stopped, started as scripts/ensure-docker.sh does)
    run.py     one row in one mode: stack, setup deploys, load, fault, checks, cleanup
    rows.py    the rows: which fault, at which failpoint, which command, which ordinary command after
    observe.py what is recorded after a row: status, history, the state file, the load's failures
    report.py  the json and md results
"""
