"""What `make bench`'s screening run measures and how much (bench/run.py, its report in
bench/run_report.py), from the environment described in bench/run.py."""

import os

REPS = int(os.environ.get("BENCH_REPS", "3"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
ROWS = int(os.environ.get("BENCH_ROWS", "100000"))
PARTS = os.environ.get("BENCH_PARTS", "http,import").split(",")
PERSONS = 10_000
OPEN_RATE = int(os.environ.get("BENCH_OPEN_RATE", "150"))  # submissions/s
OPEN_SECONDS = int(os.environ.get("BENCH_OPEN_SECONDS", "20"))

# The varied workload: each person's answers change from one submission to the next, as in real
# use, so the crisis rules fire on some. A person's calm results total 0–3; ALERT_SHARE of the
# submissions raise an alert, half by answering item 9 above 0 (red), half by a total of 9–12,
# a rise of at least 5 over any calm result before it (the worsening rule, yellow; those of 10
# and more are also positive screens, which open a case and may earn a voucher).
ALERT_SHARE = 0.10
ROUNDS = 20  # submissions per person in a pool: more than one wrk run sends
