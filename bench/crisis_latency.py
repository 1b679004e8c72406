"""`make bench`, second part: crisis alert latency and the submission rate the alert path
sustains, on SQLite and PostgreSQL, appended to docs/benchmarks.md as section (d) after the
screening figures (which `bench.run` rewrites). About five minutes."""

import json
import os
import subprocess
import sys
from pathlib import Path

from bench.doc import write_part

ROOT = Path(__file__).resolve().parents[1]
PG_DB = "xinan_bench_crisis"
MARK = "## (d) Crisis alert latency"


def run(database_url: str | None) -> dict:
    env = dict(os.environ)
    env.pop("DATABASE_URL", None)
    if database_url:
        env["DATABASE_URL"] = database_url
    out = subprocess.run(
        [sys.executable, "-m", "xinan.crisis.bench"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def fresh_postgres() -> str:
    for cmd in (["dropdb", "--if-exists"], ["createdb"]):
        subprocess.run([*cmd, "-h", "127.0.0.1", "-U", "postgres", PG_DB], check=True)  # noqa: S603
    return f"postgres://postgres@127.0.0.1:5432/{PG_DB}"


LATENCY_HEADER = (
    "| database | bus | consumer | alerts | median ms | p90 ms | p99 ms | max ms | under 1 s "
    "| load before → after |\n|---|---|---|---|---|---|---|---|---|---|"
)
RAMP_HEADER = (
    "| database (bus) | offered /s | achieved /s | submissions | alerts | save p99 ms "
    "| median ms | p99 ms | from commit p99 ms | consumer p99 ms | feed p99 ms | poll cycle p99 ms "
    "| missing | ok |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
)


def _ms(value) -> str:
    return "—" if value is None else str(value)


def _ramp_rows(results: list[dict]) -> str:
    rows = []
    for r in results:
        for step in r.get("steps", []):
            rows.append(
                f"| {r['database']} ({r['bus']}) | {step['rate']} | {step['achieved_rate']} "
                f"| {step['submissions']} | {step['alerts']} | {step['save_p99_ms']} "
                f"| {_ms(step['median_ms'])} | {_ms(step['p99_ms'])} "
                f"| {_ms(step['from_commit_p99_ms'])} | {_ms(step.get('consumer_p99_ms'))} "
                f"| {_ms(step.get('feed_p99_ms'))} | {_ms(step.get('poll_cycle_p99_ms'))} "
                f"| {step['missing']} "
                f"| {'yes' if step['ok'] else 'no'} |"
            )
    return "\n".join(rows)


def section(results: list[dict]) -> str:
    first = results[0]
    rows = "\n".join(
        f"| {r['database']} | {r['bus']} | {r.get('consumer', '')} | {r['alerts']} "
        f"| {r['median_ms']} | {r['p90_ms']} | {r['p99_ms']} | {r['max_ms']} "
        f"| {r['under_1s'] * 100:.0f}% "
        f"| {r['loadavg_before']} → {r['loadavg_after']} |"
        for r in results
    )
    sustained = "; ".join(
        f"{r['database']} ({r['bus']} bus): **{r['sustained_rate']}/s**" for r in results
    )
    return f"""{MARK} and throughput

`python -m xinan.crisis.bench`: `xinan serve` (granian WSGI) and a crisis worker's board open in
headless chromium; the consumer is a thread of the server on SQLite (the embedded default) and
a separate `xinan crisis_worker` process on PostgreSQL (the production layout). A second
process saves PHQ-9 assessments through the real screening service (`submit_assessment`:
scoring, assessment, audit and outbox rows in one transaction). On PostgreSQL the commit's
NOTIFY wakes the consumer (the bus); on SQLite the in-process bus cannot reach the server from
another process, so its consumer finds the row by its 0.1 s poll. Date {first["date"]}, machine
{first["machine"]}; the load average is the machine's, shared with other work.

**Latency**: critical submissions one at a time, spaced 0–0.3 s apart; from the commit to the
alert row appearing on the board (DOM mutation).

{LATENCY_HEADER}
{rows}

**Throughput**: the offered rate ramps in steps of {first["step_seconds"]:g} s from
{first["threads"]} threads on an open-loop schedule; {first["critical_share"] * 100:.0f}% of the
submissions answer item 9 above zero (a red alert each), the rest fire no rule. Latency runs
from the moment a submission was due to its alert on the board, so a saturated database shows
as well as a slow consumer; "save p99" is due → committed; "from commit p99" leaves the save
out; "consumer p99" is committed → alert row written (the rest is the board's poll and feed);
"feed p99" is one feed request as the browser timed it, "poll cycle p99" the time from one
poll's start to the next (the feed, the board's work on the rows, then its 300 ms wait).
A step is ok when its p99 is under 1 s, every alert arrived and ≥ 95% of the offered rate was
achieved; the ramp stops after the first step over 3 s.

{RAMP_HEADER}
{_ramp_rows(results)}

Highest rate with p99 under 1 s at every step up to it: {sustained}.

Goal: p99 under 1 s.
"""


def main() -> None:
    results = [run(None)]
    try:
        results.append(run(fresh_postgres()))
    except (subprocess.CalledProcessError, FileNotFoundError) as exc:
        print(f"PostgreSQL latency run failed: {exc}", file=sys.stderr)
    write_part(MARK, section(results))
    print(section(results))


if __name__ == "__main__":
    main()
