"""`make bench`: screening throughput on SQLite and PostgreSQL, each beside a ceiling measured in
the same run (method: ../shared/reference/performance.md §5). Writes its part of
docs/benchmarks.md (bench/doc.py).

(a) scored submissions through HTTP on a varied workload (each person's answers change from one
    submission to the next; 10% raise an alert), the worker's consumers running as in each
    database's layout: closed loop (wrk -t1 -c32, the API and the paper-entry form) against
    /healthz on the same granian server, and open loop (bench/openloop.py, 150/s at fixed
    times, latency from each request's scheduled time); server on CPU 0, the load, the
    separate worker and PostgreSQL on CPU 1;
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
import platform
import random
import re
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from bench.doc import DOC, write_part

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
REPS = int(os.environ.get("BENCH_REPS", "3"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
ROWS = int(os.environ.get("BENCH_ROWS", "100000"))
PARTS = os.environ.get("BENCH_PARTS", "http,import").split(",")
PERSONS = 10_000
OPEN_RATE = int(os.environ.get("BENCH_OPEN_RATE", "150"))  # submissions/s
OPEN_SECONDS = int(os.environ.get("BENCH_OPEN_SECONDS", "20"))
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


# The varied workload: each person's answers change from one submission to the next, as in real
# use, so the crisis rules fire on some. A person's calm results total 0–3; ALERT_SHARE of the
# submissions raise an alert, half by answering item 9 above 0 (red), half by a total of 9–12,
# a rise of at least 5 over any calm result before it (the worsening rule, yellow; those of 10
# and more are also positive screens, which open a case and may earn a voucher).
ALERT_SHARE = 0.10
ROUNDS = 20  # submissions per person in a pool: more than one wrk run sends


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


def http_bench(env: dict, seeded: dict, workdir: Path, separate_worker: bool) -> dict:
    """The ceiling, the API submission and the paper form (closed loop, wrk), then the API at a
    fixed rate (open loop), interleaved, on one server.

    `separate_worker`: the production layout on PostgreSQL, where the worker (every consumer,
    sweep and job) runs as `xinan worker` on CPU 1 and the web server does not run it; on
    SQLite the embedded default runs it in the server process. Before each run the consumers
    finish the previous run's events, so no run pays for another's backlog."""
    port = free_port()
    env = {**env, "XINAN_WORKER_BACKGROUND": "0" if separate_worker else "1"}
    bin_dir = Path(PY).parent
    server = subprocess.Popen(  # noqa: S603
        [*taskset(0), str(bin_dir / "xinan"), "serve", "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
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
    base = f"http://127.0.0.1:{port}"
    url = env["DATABASE_URL"]
    # Three sets of people, one per load, so each person's results follow their own pool.
    numbers = seeded["id_numbers"]
    api_pool = varied_pool(numbers[:1000], seed=1)
    paper_pool = varied_pool(numbers[1000:2000], seed=2)
    open_pool = varied_pool(numbers[2000:3000], seed=3)
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/healthz", timeout=1)  # noqa: S310
                break
            except OSError:
                time.sleep(0.2)
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
        XINAN_THREADS=os.environ.get("XINAN_THREADS", "4"),
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


def med(values):
    return statistics.median(values)


def span(values, fmt="{:,.0f}"):
    return f"{fmt.format(med(values))} [{fmt.format(min(values))}–{fmt.format(max(values))}]"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def verdict(results: dict) -> list[str]:
    lines = []
    for name, r in results.items():
        parts = []
        if "http" in r:
            hello = med([x["rps"] for x in r["http"]["hello"]])
            sub = med([x["rps"] for x in r["http"]["submit"]])
            p99 = med([x["p99"] for x in r["http"]["open"]])
            rate = med([x["achieved_rate"] for x in r["http"]["open"]])
            parts.append(
                f"(a) varied submissions at {sub / hello:.0%} of the ceiling — "
                f"{'met' if sub / hello >= 0.25 else 'NOT met'}; at {OPEN_RATE}/s offered "
                f"({rate:.0f}/s achieved) p99 {p99:.0f} ms — "
                f"{'met' if p99 <= 100 and rate >= 0.95 * OPEN_RATE else 'NOT met'}"
            )
        if "import" in r:
            imp = med(
                [
                    i["rows_per_s"] / c["rows_per_s"]
                    for i, c in zip(r["import"], r["raw"], strict=True)
                ]
            )
            mem = [m["peak_rss_kb"] - m["rss_before_kb"] for m in r["memory"]]
            flat = mem[-1] <= mem[0] * 1.25
            ratios = [
                i["rows_per_s"] / c["rows_per_s"]
                for i, c in zip(r["import"], r["raw"], strict=True)
            ]
            parts.append(
                f"(b) {imp:.0%} of the ceiling ({min(ratios):.0%}–{max(ratios):.0%} over the runs) "
                f"— {'met' if imp >= 0.25 else 'NOT met'}"
            )
            parts.append(
                f"(c) growth {mem[0] / 1024:.0f} MB → {mem[-1] / 1024:.0f} MB for a file "
                f"{r['memory'][-1]['rows'] // r['memory'][0]['rows']}× larger — "
                f"{'met' if flat else 'NOT met'}"
            )
        lines.append(f"- {name}: " + "; ".join(parts) + ".")
    return lines


def report(results: dict, when: str | None = None) -> str:
    """The head part of docs/benchmarks.md; `when` the run's date (now by default)."""
    when = when or f"{dt.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}"
    lines = [
        "# Benchmarks",
        "",
        "Produced by `make bench` (`python -m bench.run`); method in "
        "../shared/reference/performance.md §5. Every figure is a median of "
        f"{REPS} interleaved runs with min–max in brackets, each beside a ceiling measured in "
        "the same run on the same machine.",
        "",
        f"- date: {when}",
        f"- machine: {os.cpu_count()} CPUs ({cpu_model()}), {platform.system()} "
        f"{platform.release()}, Python {platform.python_version()}",
        f"- server: `xinan serve` (granian WSGI, 1 worker × {os.environ.get('XINAN_THREADS', '4')}"
        " blocking threads) pinned to CPU 0; wrk 4.1 `-t1 -c32 "
        f"-d{SECONDS}s`, the open-loop generator, `xinan worker` and PostgreSQL pinned to CPU 1",
        "",
        "- machine load (1/5-minute load average, CPU steal) before and after each database's "
        "runs: "
        + "; ".join(
            f"{name}: {r['load_before']} → {r['load_after']}" for name, r in results.items()
        )
        + ". Other sessions share this machine; a load above the CPU count means the figures "
        "are depressed and noisy, ratios less so than absolutes.",
        "",
        "## (a) Scored submissions through HTTP",
        "",
        "`POST /api/v1/screening/assessments` (JSON, as a school's or hospital's system sends "
        "paper results): bearer-token authentication, the body validated, the person found by "
        "ID-number hash through the scope gate, the answers parsed and scored by the "
        "instruments engine, the assessment, its audit row, its `assessment.scored` outbox "
        "row and one delivery row per consumer of the topic written in one transaction, 201 "
        "with the score. Beside it, the paper-entry form `POST /screening/paper/` as a "
        "logged-in counsellor (session, CSRF, the same service, 302 to the next form). "
        "Ceiling: `GET /healthz` (a JSON view that runs `SELECT 1`) on the same server.",
        "",
        "The varied workload: each person's answers change from one submission to the next "
        f"(pools of {ROUNDS} rounds of 1,000 people each, a set of people per load); "
        f"{ALERT_SHARE:.0%} of the submissions raise an alert, half by answering item 9 above 0 "
        "(red), half by a total of 9–12 after calm results of 0–3 (the worsening rule, "
        "yellow; those of 10 and more are also positive screens, which open a case and may "
        "earn a voucher); each run goes on in its pool where the last stopped. The consumers "
        "of `assessment.scored` (crisis alerts, cases ×2, vouchers) and of `alert.raised` run "
        "in the worker: on SQLite the embedded default, in the server process (`xinan serve`, "
        "as `make run`); on PostgreSQL production's, a separate `xinan worker` on CPU 1. "
        'Before each run the consumers finish the previous run\'s events ("caught up": how '
        "long that took after the run), so no run pays for another's backlog.",
        "",
        "Closed loop (wrk, 32 connections, the varied workload):",
        "",
        "| database | ceiling req/s | API req/s | API / ceiling | API p50 ms | API p99 ms "
        "| form req/s | form / ceiling | form p99 ms | caught up after API s | non-2xx/3xx |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in results.items():
        if "http" not in r:  # a part left out of this run (BENCH_PARTS)
            continue
        hello = [x["rps"] for x in r["http"]["hello"]]
        sub = [x["rps"] for x in r["http"]["submit"]]
        form = r["http"]["paper"]
        ratio = [s / h for s, h in zip(sub, hello, strict=True)]
        form_ratio = [f["rps"] / h * 100 for f, h in zip(form, hello, strict=True)]
        bad = sum(x["non_2xx"] for x in r["http"]["submit"] + form)
        lines.append(
            f"| {name} | {span(hello)} | {span(sub)} | {span([x * 100 for x in ratio], '{:.1f}')}%"
            f" | {span([x['p50'] for x in r['http']['submit']], '{:.1f}')}"
            f" | {span([x['p99'] for x in r['http']['submit']], '{:.1f}')}"
            f" | {span([f['rps'] for f in form])} | {span(form_ratio, '{:.1f}')}%"
            f" | {span([f['p99'] for f in form], '{:.1f}')}"
            f" | {span([x['drain_s'] for x in r['http']['submit']], '{:.0f}')} | {bad} |"
        )
    lines += [
        "",
        f"Open loop (`bench/openloop.py` on CPU 1: {OPEN_RATE} API submissions/s at fixed "
        f"times for {OPEN_SECONDS} s, 64 keep-alive connections; each latency runs from the "
        "request's scheduled send time to its response, so a stall counts for every request "
        "it delays; the varied workload):",
        "",
        "| database | offered /s | achieved /s | saved | raised or added to an alert "
        "| p50 ms | p90 ms | p99 ms | max ms | caught up after s | non-2xx |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in results.items():
        if "http" not in r:
            continue
        o = r["http"]["open"]
        alerts = sum(x["alerts"] for x in o) / max(1, sum(x["saved"] for x in o))
        lines.append(
            f"| {name} | {OPEN_RATE} | {span([x['achieved_rate'] for x in o], '{:.1f}')}"
            f" | {span([x['saved'] for x in o])} | {alerts:.1%}"
            f" | {span([x['p50'] for x in o], '{:.1f}')} | {span([x['p90'] for x in o], '{:.1f}')}"
            f" | {span([x['p99'] for x in o], '{:.1f}')} | {span([x['max'] for x in o], '{:.0f}')}"
            f" | {span([x['drain_s'] for x in o], '{:.0f}')} | {sum(x['non_2xx'] for x in o)} |"
        )
    lines += [
        "",
        "Deliveries parked after all runs (a consumer that failed on an event again and again; "
        "should be none): "
        + "; ".join(
            f"{name}: " + (", ".join(f"{c} {n}" for c, n in r["http"]["parked"].items()) or "none")
            for name, r in results.items()
            if "http" in r
        )
        + ".",
        "",
        "Goals (issue 12, restated): API req/s ≥ 25% of the ceiling on the varied workload; "
        f"p99 ≤ 100 ms at an open-loop {OPEN_RATE} submissions/s with {ALERT_SHARE:.0%} raising "
        "an alert, on both databases in their layouts above.",
        "",
        f"## (b) Bulk import of {ROWS:,} PHQ-9 rows",
        "",
        "Import: `xinan.screening.importer.run` on a CSV of "
        f"{ROWS:,} rows ({PERSONS:,} people × {ROWS // PERSONS} dates): each row's ID number "
        "validated and hashed, the person found through the scope gate, answers parsed and "
        "scored by the engine (its compiled path for plain-data instruments), idempotency key "
        "checked, then the assessments, their `assessment.scored` outbox rows and one delivery "
        "row per consumer of the topic (`outbox.emit_many`, the bulk lane) written with COPY "
        "(PostgreSQL) or multi-row INSERTs (SQLite), plus one audit row per chunk and area "
        "(`audit.record_many`), 10,000 rows per transaction; no worker runs meanwhile. "
        "Ceiling: the same assessment rows (the same people, areas, scores, bands and "
        "idempotency-key hashes, the same job), already built in "
        "memory before the timer starts, loaded the same way into the same table with nothing "
        "else (no lookups, no scoring, no outbox, no audit).",
        "",
        "| database | ceiling rows/s | import rows/s | import / ceiling |",
        "|---|---|---|---|",
    ]
    for name, r in results.items():
        if "import" not in r:  # a part left out of this run (BENCH_PARTS)
            continue
        imp = [x["rows_per_s"] for x in r["import"]]
        raw = [x["rows_per_s"] for x in r["raw"]]
        ratio = [i / c * 100 for i, c in zip(imp, raw, strict=True)]
        lines.append(f"| {name} | {span(raw)} | {span(imp)} | {span(ratio, '{:.1f}')}% |")
    lines += [
        "",
        "Goal: ≥ 25% of the ceiling.",
        "",
        "## (c) Peak memory of an import",
        "",
        "Peak RSS (`ru_maxrss`) of a child process that sets up Django and imports one CSV; "
        "'before' is the RSS after Django set-up, before the import.",
        "",
        "| database | rows | RSS before MB | peak RSS MB | growth MB |",
        "|---|---|---|---|---|",
    ]
    for name, r in results.items():
        if "memory" not in r:  # a part left out of this run (BENCH_PARTS)
            continue
        for m in r["memory"]:
            before, peak = m["rss_before_kb"] / 1024, m["peak_rss_kb"] / 1024
            lines.append(
                f"| {name} | {m['rows']:,} | {before:.0f} | {peak:.0f} | {peak - before:.0f} |"
            )
    lines += [
        "",
        "Goal: flat in file size (the file is read as a stream; one 10,000-row chunk is held "
        "at a time).",
        "",
        "## Against the goals",
        "",
        "The goals (issue 12): (a) API req/s ≥ 25% of the ceiling on the varied workload, and "
        f"p99 ≤ 100 ms at an open-loop {OPEN_RATE} submissions/s with {ALERT_SHARE:.0%} "
        "raising an alert, each database in its layout; (b) import rows/s ≥ 25% of the raw "
        "load's; (c) an import's memory flat in the file's size. Each is judged on the "
        "median of the runs.",
        "",
        *verdict(results),
        "",
        "## Where the time goes",
        "",
        "Measured in one process without a server (2026-12-02, SQLite, CPU time per "
        "submission, the varied workload of 2,000 submissions, then the worker's "
        "`run_once` over their events, each consumer timed; run under `nice` on a machine "
        "shared with other sessions, so absolute figures are high, their proportions less so):",
        "",
        "- A submission costs 0.9–1.1 ms: the token and memberships from a per-process cache, "
        "the short middleware stack of token calls, the person by ID-number hash through the "
        "scope gate, the previous total, scoring from compiled tables, then BEGIN, the "
        "assessment, audit and outbox rows and one multi-row INSERT of four delivery rows "
        "(`xinan/core/outbox.py` `emit`), COMMIT. The same path measured 0.43–0.47 ms on "
        "2026-12-01 before deliveries existed, on another machine.",
        "- The worker's work for it costs 3.6–4.2 ms, about four times the submission: its own "
        "claim, event load and delivery deletes 0.3–0.4 ms, the consumers 3.3–3.8 ms. Per "
        "submission: `cases.complete_follow_up` 1.4–1.5 ms on every event, even for a person "
        "with no follow-up due (`xinan/cases/services/care.py` `record_assessment`: a "
        "savepoint, an `exists()` and a `select_for_update()` query on FollowUp, most of it "
        "Django compiling the two queries); `crisis.alert_from_assessment` 1.0–1.2 ms on "
        "average, of which the one event in ten that fires a rule costs about 9 ms "
        "(`xinan/crisis/services.py` `process_assessment_event` → `raise_alert`: the person, "
        "the alert or its repeat, the on-duty chain, timeline, audit and outbox rows) and the "
        "others about 0.1 ms; `cases.open_from_alert` 4–6 ms per red or orange alert "
        "(`xinan/cases/consumers.py`, on `alert.raised`); `cases.open_from_positive_screen` "
        "0.4 ms and `booking.voucher_for_positive_screen` 0.13–0.15 ms on average.",
        "- On SQLite the embedded default runs the worker as threads of the server process, on "
        "the server's CPU and under its one GIL: each submission brings about 4 ms of "
        "consumer work to the CPU its own 1 ms runs on, which caps the server near 1 / 5 ms "
        "≈ 200 submissions/s whatever its ceiling (the closed loop's 169–202/s), and at "
        "150/s offered leaves CPU 0 about 80% busy, so requests queue (open-loop p99 "
        "0.3–1.3 s). The worker's delivery transactions (up to `TRANSACTION_BUDGET`, 100 ms, "
        "`xinan/core/worker.py`) also hold SQLite's one write lock, which live submissions "
        "wait for. On PostgreSQL the separate worker takes that work off the server's CPU: "
        "p99 61–78 ms at 150/s. In the closed loop it does not keep up: at 256–354 "
        "submissions/s its ~4 ms each is more than CPU 1 has, which it shares with the "
        "database and wrk; it ended 15–21 s behind, and the server's CPU was not the limit "
        "(about 0.4 of it busy with submissions). That the worker's CPU is what slows the "
        "database there is inferred from these figures, not measured apart.",
        "- So the misses on SQLite lie outside the submission path: meeting them needs the "
        "consumers' work per submission to fall to about the submission's own (chiefly "
        "`record_assessment` on every event and the alert path), or the embedded worker to "
        "give way to live requests. Screening's own path was left as it is (issue 12: no "
        "more work on the submission path).",
        "- Paper form: the same service plus a session and user lookup, memberships, CSRF, "
        "form validation, a flash message and a redirect.",
        "- Import: since deliveries exist, each imported row also writes one delivery row per "
        "consumer of `assessment.scored` (four today: 400,000 rows for a 100,000-row file, "
        "`xinan/core/outbox.py` `emit_many`, COPY on PostgreSQL and multi-row INSERTs on "
        "SQLite into a table with two indexes), which the ceiling does not; the ratio fell "
        "from 38–40% (2026-12-01, before deliveries, on another machine) to the figures "
        "above. Timed in one process (50,000 rows, SQLite, 2026-12-02 before 02:20 UTC): "
        "the three per-chunk lookups (people, existing keys, each row's previous result "
        "bounded by its own date, `xinan/screening/import_chunk.py` `_lookups`) 28%, the "
        "assessments' INSERTs 18%, reading, checking and scoring the rows 17%, the delivery "
        "rows 14%, the events 3%. The previous result was then two correlated subqueries per "
        "(person, day) on SQLite; now one, for the row's id, the row then read by its key "
        "(PostgreSQL unchanged: one LATERAL step per pair). Tried and dropped the same day: "
        "one query per chunk reading its people's results in order, each row's found by "
        "bisection; in process on SQLite the lookups' share fell to 14–20% (24–29% before), "
        "but in bench.run memory grew with the file (+49 MB → +69 MB for 5× the rows on "
        "SQLite, +45 → +64 on PostgreSQL; flat before: the bench's people have a result per "
        "earlier chunk, all read) and PostgreSQL fell to 22% [22–23%] (likely from parsing the "
        "datetimes of every earlier result; not measured apart). "
        "A delivery per "
        "consumer per bulk event grows with every consumer added; a bulk lane that fans one "
        "delivery per event out to the consumers when it is processed, or a per-consumer "
        "position in the outbox for bulk events, would write one row or none.",
        "- Memory is flat: peak RSS grows with the chunk (10,000 rows), not with the file.",
        "",
    ]
    return "\n".join(lines)


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
