"""`make bench`, second part: crisis alert latency on SQLite and PostgreSQL, appended to
docs/benchmarks.md after the screening figures (which `bench.run` rewrites)."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "benchmarks.md"
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


def section(results: list[dict]) -> str:
    rows = "\n".join(
        f"| {r['database']} | {r['alerts']} | {r['median_ms']} | {r['p90_ms']} | {r['p99_ms']} "
        f"| {r['max_ms']} | {r['under_1s'] * 100:.0f}% "
        f"| {r['loadavg_before']} → {r['loadavg_after']} |"
        for r in results
    )
    return f"""{MARK}

`python -m xinan.crisis.bench`: `xinan serve` (granian WSGI with the in-process crisis consumer)
and a crisis worker's board open in headless chromium; a second process writes
`assessment.scored` outbox rows with a critical answer, spaced 0.1–0.6 s apart, and the time is
taken from the commit of the row to the alert appearing on the board (DOM mutation). Date
{results[0]["date"]}, machine {results[0]["machine"]}.

| database | alerts | median ms | p90 ms | p99 ms | max ms | under 1 s | load before → after |
|---|---|---|---|---|---|---|---|
{rows}

Goal: p99 under 1 s.
"""


def main() -> None:
    results = [run(None)]
    try:
        results.append(run(fresh_postgres()))
    except (subprocess.CalledProcessError, FileNotFoundError) as exc:
        print(f"PostgreSQL latency run failed: {exc}", file=sys.stderr)
    text = DOC.read_text(encoding="utf-8") if DOC.exists() else "# Benchmarks\n"
    text = text.split(MARK)[0].rstrip() + "\n\n" + section(results)
    DOC.write_text(text, encoding="utf-8")
    print(section(results))


if __name__ == "__main__":
    main()
