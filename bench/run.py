"""`make bench`: screening throughput on SQLite and PostgreSQL, each beside a ceiling measured in
the same run (method: ../shared/reference/performance.md §5). Writes its part of
docs/benchmarks.md (bench/doc.py).

(a) scored submissions through HTTP on a varied workload (each person's answers change from one
    submission to the next; 10% raise an alert), the worker's consumers running as in each
    database's layout: closed loop (wrk -t1 -c32, the API and the paper-entry form) against
    /healthz on the same granian server, and open loop (bench/openloop.py, 150/s at fixed
    times, latency from each request's scheduled time); server on CPU 0, the load, the
    separate worker and PostgreSQL on CPU 1; on SQLite also the request alone (the API closed
    loop beside its ceiling on a server that runs no worker);
(b) import rows/s for 100,000 PHQ-9 rows vs a raw COPY / executemany of the same rows;
(c) peak RSS of an import for two file sizes.

Environment: BENCH_REPS (3), BENCH_SECONDS (10), BENCH_ROWS (100000), BENCH_BACKENDS
("sqlite,postgresql"; PostgreSQL runs when its binaries are installed), BENCH_PARTS
("http,import"; a part left out is missing from the report, so use it only while tuning),
BENCH_OPEN_RATE (150), BENCH_OPEN_SECONDS (20).
"""

import csv
import datetime as dt
import json
import os
import random
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from bench.doc import DOC, write_part
from bench.run_config import (
    ALERT_SHARE,
    OPEN_RATE,
    OPEN_SECONDS,
    PARTS,
    PERSONS,
    REPS,
    ROUNDS,
    ROWS,
    SECONDS,
)
from bench.run_report import report

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
PG_BIN = Path("/usr/lib/postgresql/15/bin")


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def taskset(cpu: int) -> list[str]:
    return ["taskset", "-c", str(cpu)] if shutil.which("taskset") and os.cpu_count() > 1 else []


def worker(env: dict, *args: str) -> dict:
    out = subprocess.run(  # noqa: S603
        [PY, "-m", "bench.worker", *args], env=env, cwd=ROOT, capture_output=True, text=True
    )
    if out.returncode:
        raise SystemExit(f"bench.worker {args[0]} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------- databases


class Sqlite:
    name = "SQLite"

    def __enter__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="xinan-bench-"))
        self.url = f"sqlite:///{self.dir / 'bench.sqlite3'}"
        return self

    def __exit__(self, *exc):
        shutil.rmtree(self.dir, ignore_errors=True)


class Postgres:
    name = "PostgreSQL"

    def __enter__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="xinan-bench-pg-"))
        self.port = free_port()
        data = self.dir / "data"
        as_pg = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        shutil.chown(self.dir, "postgres") if as_pg else None
        subprocess.run(  # noqa: S603
            [*as_pg, str(PG_BIN / "initdb"), "-D", str(data), "-U", "xinan", "-A", "trust"],
            check=True,
            capture_output=True,
        )
        self.proc = subprocess.Popen(  # noqa: S603
            [
                *taskset(1),
                *as_pg,
                str(PG_BIN / "postgres"),
                "-D",
                str(data),
                "-p",
                str(self.port),
                "-k",
                str(self.dir),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "shared_buffers=256MB",
                "-c",
                "max_connections=100",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(100):
            ok = subprocess.run(  # noqa: S603
                [str(PG_BIN / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port)],
                capture_output=True,
            )
            if ok.returncode == 0:
                break
            time.sleep(0.2)
        subprocess.run(  # noqa: S603
            [
                str(PG_BIN / "createdb"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "xinan",
                "xinan",
            ],
            check=True,
        )
        self.url = f"postgres://xinan@127.0.0.1:{self.port}/xinan"
        return self

    def __exit__(self, *exc):
        self.proc.terminate()
        self.proc.wait(timeout=30)
        shutil.rmtree(self.dir, ignore_errors=True)


# ---------------------------------------------------------------- files


def write_csv(path: Path, rows: int, id_numbers: list[str]) -> None:
    header = ["身份证号", "姓名", "测评日期", "地点"] + [str(n) for n in range(1, 10)]
    start = dt.date(2025, 1, 1)
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        for i in range(rows):
            number = id_numbers[i % len(id_numbers)]
            day = start + dt.timedelta(days=i // len(id_numbers))
            answers = [(i * 7 + k * 3) % 4 if k < 8 else 0 for k in range(9)]
            w.writerow([number, "", day.isoformat(), "", *answers])


# ---------------------------------------------------------------- HTTP


def spread(total: int, rng: random.Random) -> list[int]:
    """Answers 0–3 for PHQ-9 items 1–8 that add up to `total`."""
    answers = [0] * 8
    for _ in range(total):
        answers[rng.choice([i for i, a in enumerate(answers) if a < 3])] += 1
    return answers


def varied_pool(id_numbers: list[str], seed: int) -> list[tuple[str, str]]:
    """(ID number, answer codes) in sending order: round after round of the same people."""
    rng = random.Random(seed)
    last: dict[str, str] = {}
    pool = []
    for _round in range(ROUNDS):
        for number in id_numbers:
            x = rng.random()
            kind = "item9" if x < ALERT_SHARE / 2 else "worse" if x < ALERT_SHARE else "calm"
            if kind == "worse" and last.get(number) == "worse":
                kind = "item9"  # a rise right after a rise would need ever higher totals
            total = rng.randint(9, 12) if kind == "worse" else rng.randint(0, 3)
            answers = [*spread(total, rng), 1 if kind == "item9" else 0]
            pool.append((number, ",".join(map(str, answers))))
            last[number] = kind
    return pool


def api_body(number: str, answers: str) -> str:
    return json.dumps(
        {"instrument": "PHQ-9", "answers": answers, "site": "bench", "id_number": number},
        separators=(",", ":"),
    )


# The bodies are a Lua table; wrk's one thread sends them in order from the argument, cycling.
API_SCRIPT = """
local bodies = {%(bodies)s}
local i = 0
init = function(args) i = tonumber(args[1]) end
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer %(key)s"
request = function()
  i = i + 1
  return wrk.format(nil, nil, nil, bodies[(i %% #bodies) + 1])
end
"""

WRK_SCRIPT = """
local bodies = {%(bodies)s}
local i = 0
init = function(args) i = tonumber(args[1]) end
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Cookie"] = "sessionid=%(session)s; csrftoken=%(csrf)s"
request = function()
  i = i + 1
  return wrk.format(nil, nil, nil, "csrfmiddlewaretoken=%(csrf)s&instrument=PHQ-9" ..
    "&assessed_on=%(day)s&site=bench&" .. bodies[(i %% #bodies) + 1])
end
"""


def lua_strings(texts: list[str]) -> str:
    return ",\n".join(f"[[{t}]]" for t in texts)


def parse_wrk(text: str) -> dict:
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    requests = int(re.search(r"(\d+) requests in", text).group(1))

    def ms(label):
        m = re.search(rf"{label}\s+([\d.]+)(us|ms|s)\b", text)
        if not m:
            return None
        value, unit = float(m.group(1)), m.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    errors = re.search(r"Socket errors:.*", text)
    return {
        "rps": rps,
        "requests": requests,
        "p50": ms("50%"),
        "p99": ms("99%"),
        "non_2xx": int(bad.group(1)) if bad else 0,
        "socket_errors": errors.group(0) if errors else "",
    }


def wrk(url: str, script: Path | None, first: int = 0) -> dict:
    """One closed-loop run; a script's bodies are sent from index `first`."""
    cmd = [*taskset(1), "wrk", "-t1", "-c32", f"-d{SECONDS}s", "--latency"]
    if script:
        cmd += ["-s", str(script)]
    cmd += [url, "--", str(first)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)  # noqa: S603
    return parse_wrk(out.stdout)


def query_all(url: str, sql: str) -> list[tuple]:
    """Rows from the bench's database, read directly (no Django process to start)."""
    if url.startswith("sqlite:///"):
        con = sqlite3.connect(url.removeprefix("sqlite:///"), timeout=30)
        try:
            return con.execute(sql).fetchall()
        finally:
            con.close()
    import psycopg

    with psycopg.connect(url) as con:
        return con.execute(sql).fetchall()


def query(url: str, sql: str) -> tuple:
    return query_all(url, sql)[0]


def parked(url: str) -> dict[str, int]:
    """Deliveries a consumer kept failing on (each should be none)."""
    sql = "SELECT consumer, count(*) FROM core_delivery WHERE state = 'parked' GROUP BY consumer"
    return dict(query_all(url, sql))


def drain(url: str, timeout: float = 600) -> float:
    """Wait until the consumers have every delivery done; return the seconds it took."""
    start = time.perf_counter()
    while query(url, "SELECT count(*) FROM core_delivery WHERE state = 'pending'")[0]:
        if time.perf_counter() - start > timeout:
            raise SystemExit(f"the consumers did not catch up within {timeout:.0f} s")
        time.sleep(0.5)
    return time.perf_counter() - start


def alerting_submissions(url: str) -> int:
    """Assessments that raised an alert or added to an open one (one timeline row each)."""
    sql = (
        "SELECT count(*) FROM crisis_alertevent "
        "WHERE kind IN ('raised', 'repeated') AND source LIKE 'assessment:%'"
    )
    return query(url, sql)[0]


def submissions(url: str) -> int:
    return query(url, "SELECT count(*) FROM screening_assessment")[0]


def open_loop(base: str, bodies: Path, first: int, key: str, seconds: float) -> dict:
    out = subprocess.run(  # noqa: S603
        [
            *taskset(1),
            PY,
            "-m",
            "bench.openloop",
            base + "/api/v1/screening/assessments",
            str(bodies),
            str(first),
            str(OPEN_RATE),
            str(seconds),
            key,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def serve(env: dict) -> tuple[subprocess.Popen, str]:
    """`xinan serve` on CPU 0 and a free port, once it answers `/healthz`: (process, base URL)."""
    port = free_port()
    server = subprocess.Popen(  # noqa: S603
        [*taskset(0), str(Path(PY).parent / "xinan"), "serve", "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,  # nobody reads it: a full pipe would stall the server
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(base + "/healthz", timeout=1)  # noqa: S310
            break
        except OSError:
            time.sleep(0.2)
    return server, base


def http_bench(env: dict, seeded: dict, workdir: Path, separate_worker: bool) -> dict:
    """The ceiling, the API submission and the paper form (closed loop, wrk), then the API at a
    fixed rate (open loop), interleaved, on one server.

    `separate_worker`: the production layout on PostgreSQL, where the worker (every consumer,
    sweep and job) runs as `xinan worker` on CPU 1 and the web server does not run it; on
    SQLite the embedded default runs it in the server process. Before each run the consumers
    finish the previous run's events, so no run pays for another's backlog."""
    env = {**env, "XINAN_WORKER_BACKGROUND": "0" if separate_worker else "1"}
    bin_dir = Path(PY).parent
    server, base = serve(env)
    consumer = (
        subprocess.Popen(  # noqa: S603
            [*taskset(1), str(bin_dir / "xinan"), "worker"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        if separate_worker
        else None
    )
    url = env["DATABASE_URL"]
    # Three sets of people, one per load, so each person's results follow their own pool.
    numbers = seeded["id_numbers"]
    api_pool = varied_pool(numbers[:1000], seed=1)
    paper_pool = varied_pool(numbers[1000:2000], seed=2)
    open_pool = varied_pool(numbers[2000:3000], seed=3)
    try:
        paper = workdir / "paper.lua"
        paper.write_text(
            WRK_SCRIPT
            % {
                "bodies": lua_strings(
                    [f"id_number={n}&answers={a.replace(',', '')}" for n, a in paper_pool]
                ),
                "csrf": seeded["csrf"],
                "session": seeded["session"],
                "day": dt.date.today().isoformat(),
            }
        )
        api = workdir / "api.lua"
        api_bodies = lua_strings([api_body(n, a) for n, a in api_pool])
        api.write_text(API_SCRIPT % {"bodies": api_bodies, "key": seeded["api_key"]})
        open_bodies = workdir / "open.json"
        open_bodies.write_text(json.dumps([api_body(n, a) for n, a in open_pool]))
        paths = {
            "hello": ("/healthz", None),
            "submit": ("/api/v1/screening/assessments", api),
            "paper": ("/screening/paper/", paper),
        }
        # Where each load is in its pool: every run goes on from where the last one stopped,
        # so each person's next result follows their last (the warm-up sends the first round,
        # which has no earlier result to worsen from).
        sent = {"submit": 0, "paper": 0, "open": 0}
        for name, (path, script) in paths.items():  # warm up every path
            sent[name] = sent.get(name, 0) + wrk(base + path, script)["requests"]
        sent["open"] = open_loop(base, open_bodies, 0, seeded["api_key"], 1000 / OPEN_RATE)["sent"]
        drain(url)
        runs: dict = {name: [] for name in [*paths, "open"]}
        for rep in range(REPS):
            for name, (path, script) in paths.items():
                before = submissions(url)
                runs[name].append(wrk(base + path, script, sent.get(name, 0)))
                sent[name] = sent.get(name, 0) + runs[name][-1]["requests"]
                runs[name][-1]["drain_s"] = drain(url)
                runs[name][-1]["saved"] = submissions(url) - before
            before, alerts = submissions(url), alerting_submissions(url)
            runs["open"].append(
                open_loop(base, open_bodies, sent["open"], seeded["api_key"], OPEN_SECONDS)
            )
            sent["open"] += runs["open"][-1]["sent"]
            runs["open"][-1]["drain_s"] = drain(url)
            runs["open"][-1]["saved"] = submissions(url) - before
            runs["open"][-1]["alerts"] = alerting_submissions(url) - alerts
            o = runs["open"][-1]
            log(
                f"  http rep {rep + 1}: hello {runs['hello'][-1]['rps']:.0f}/s, "
                f"api {runs['submit'][-1]['rps']:.0f}/s p99 {runs['submit'][-1]['p99']} ms "
                f"(drained in {runs['submit'][-1]['drain_s']:.0f} s), "
                f"paper {runs['paper'][-1]['rps']:.0f}/s p99 {runs['paper'][-1]['p99']} ms; "
                f"open loop {o['achieved_rate']:.0f}/s p50 {o['p50']:.0f} p99 {o['p99']:.0f} "
                f"max {o['max']:.0f} ms, {o['alerts']} alerts of {o['saved']}, "
                f"non-2xx {runs['submit'][-1]['non_2xx'] + runs['paper'][-1]['non_2xx']}"
                f"/{o['non_2xx']}"
            )
        runs["parked"] = parked(url)
        if runs["parked"]:
            log(f"  parked deliveries: {runs['parked']}")
        return runs
    finally:
        server.terminate()
        server.wait(timeout=30)
        if consumer is not None:
            consumer.terminate()
            consumer.wait(timeout=30)


def request_alone_bench(env: dict, seeded: dict, workdir: Path) -> dict:
    """SQLite only, to see what the embedded layout costs: the ceiling and the API closed loop,
    interleaved, on a server that runs no worker at all (its deliveries wait; `reset` empties
    them afterwards), so CPU 0 serves requests and nothing else. Its own set of people."""
    server, base = serve({**env, "XINAN_WORKER_BACKGROUND": "0"})
    pool = varied_pool(seeded["id_numbers"][3000:4000], seed=4)
    api = workdir / "alone.lua"
    api.write_text(
        API_SCRIPT
        % {"bodies": lua_strings([api_body(n, a) for n, a in pool]), "key": seeded["api_key"]}
    )
    try:
        wrk(base + "/healthz", None)  # warm up both paths
        sent = wrk(base + "/api/v1/screening/assessments", api)["requests"]
        runs: dict = {"hello": [], "submit": []}
        for rep in range(REPS):
            runs["hello"].append(wrk(base + "/healthz", None))
            runs["submit"].append(wrk(base + "/api/v1/screening/assessments", api, sent))
            sent += runs["submit"][-1]["requests"]
            log(
                f"  request alone rep {rep + 1}: hello {runs['hello'][-1]['rps']:.0f}/s, "
                f"api {runs['submit'][-1]['rps']:.0f}/s"
            )
        return runs
    finally:
        server.terminate()
        server.wait(timeout=30)


# ---------------------------------------------------------------- per backend


def load() -> str:
    """Load average and CPU steal now: other work on the machine skews every figure."""
    one, five, _fifteen = os.getloadavg()
    out = subprocess.run(["vmstat", "1", "2"], capture_output=True, text=True)  # noqa: S607
    steal = out.stdout.strip().splitlines()[-1].split()[-1] if out.returncode == 0 else "?"
    return f"load {one:.1f}/{five:.1f}, steal {steal}%"


def bench_backend(db) -> dict:
    env = dict(os.environ)
    workdir = Path(tempfile.mkdtemp(prefix="xinan-bench-files-"))
    env.update(
        DATABASE_URL=db.url,
        XINAN_VAR_DIR=str(workdir / "var"),
        DJANGO_SETTINGS_MODULE="xinan.settings",
    )
    try:
        log(f"{db.name}: migrate")
        subprocess.run(  # noqa: S603
            [str(Path(PY).parent / "xinan"), "migrate", "--no-input", "-v", "0"],
            env=env,
            cwd=ROOT,
            check=True,
        )
        seeded = worker(env, "seed", str(PERSONS))
        log(f"{db.name}: seeded {PERSONS} people")
        result: dict = {"load_before": load()}
        if "http" in PARTS:
            result["http"] = http_bench(env, seeded, workdir, separate_worker=db.name != "SQLite")
            worker(env, "reset")
            if db.name == "SQLite":
                result["http"]["alone"] = request_alone_bench(env, seeded, workdir)
                worker(env, "reset")
        if "import" not in PARTS:
            result["load_after"] = load()
            return result

        big = workdir / f"phq9-{ROWS}.csv"
        small = workdir / f"phq9-{ROWS // 5}.csv"
        write_csv(big, ROWS, seeded["id_numbers"])
        write_csv(small, ROWS // 5, seeded["id_numbers"])
        result["import"], result["raw"] = [], []
        for rep in range(REPS):
            result["import"].append(worker(env, "import", str(big)))
            worker(env, "reset")
            result["raw"].append(worker(env, "raw", str(big)))
            worker(env, "reset")
            log(
                f"  import rep {rep + 1}: {result['import'][-1]['rows_per_s']:.0f} rows/s, "
                f"raw {result['raw'][-1]['rows_per_s']:.0f} rows/s"
            )
        result["memory"] = []
        for path, rows in ((small, ROWS // 5), (big, ROWS)):
            m = worker(env, "memory", str(path))
            worker(env, "reset")
            result["memory"].append({"rows": rows, **m})
            log(f"  memory {rows} rows: peak {m['peak_rss_kb'] / 1024:.0f} MB")
        result["load_after"] = load()
        log(f"{db.name}: {result['load_before']} before, {result['load_after']} after")
        return result
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


# ---------------------------------------------------------------- report


def main() -> None:
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: apt-get install -y wrk")
    wanted = os.environ.get("BENCH_BACKENDS", "sqlite,postgresql").split(",")
    results = {}
    if "sqlite" in wanted:
        with Sqlite() as db:
            results[db.name] = bench_backend(db)
    if "postgresql" in wanted:
        if (PG_BIN / "postgres").exists():
            with Postgres() as db:
                results[db.name] = bench_backend(db)
        else:
            log(f"PostgreSQL binaries not found in {PG_BIN}: skipped")
    (ROOT / "var").mkdir(exist_ok=True)
    (ROOT / "var" / "bench.json").write_text(json.dumps(results, indent=1))
    text = report(results)
    write_part("# Benchmarks", text, Path(os.environ.get("BENCH_OUTPUT", DOC)))
    print(text)


if __name__ == "__main__":
    main()
