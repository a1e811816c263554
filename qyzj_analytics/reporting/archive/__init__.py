"""Reports over time: the archive index, the run log, quarter-over-quarter change, notifications.

``reports/index.html`` and ``reports/runs.jsonl`` are shared by every quarter and written under a
lock on the whole reports folder (:mod:`.runs`); each published report carries a machine-readable
``summary.json`` (:mod:`.summary`) that the next quarter compares itself with; ``--notify`` sends a
mail and a group-robot message after the run (:mod:`.notify`).
"""
