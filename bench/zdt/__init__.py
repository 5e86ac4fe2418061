"""The zero-downtime benchmark (`make bench`): load generator, stack, modes, analysis, report.

    stack.py    network + nginx + bluegreen.yml for one run, all named bgb-<id>, removed by close()
    load.py     the open-loop load generator (its own process), raw asyncio HTTP/1.1, every request recorded
    runner.py   the load generator's process, and timed commands (the bluegreen CLI, docker) beside it
    modes.py    what happens under the load: nothing (sanity), blue-green cycles, the recreate baseline
    analyze.py  per mode and class: failures by kind, gaps, rollback times, reloads
    report.py   <date>.json, <date>.md and <date>.png
"""
