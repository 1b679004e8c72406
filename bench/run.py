"""`make bench`: screening throughput on SQLite and PostgreSQL, each beside a ceiling measured in
the same run (method: ../shared/reference/performance.md §5). Writes docs/benchmarks.md.

(a) scored submissions/s through HTTP (the paper-entry form: session auth, CSRF, validation,
    scoring, assessment + audit + outbox rows in one transaction) vs /healthz on the same
    granian server, wrk -t1 -c32 -d10s, server on CPU 0, wrk and PostgreSQL on CPU 1;
(b) import rows/s for 100,000 PHQ-9 rows vs a raw COPY / executemany of the same rows;
(c) peak RSS of an import for two file sizes.

Environment: BENCH_REPS (3), BENCH_SECONDS (10), BENCH_ROWS (100000), BENCH_BACKENDS
("sqlite,postgresql"; PostgreSQL runs when its binaries are installed), BENCH_PARTS
("http,import"; a part left out is missing from the report, so use it only while tuning).
"""

import csv
import datetime as dt
import json
import os
import platform
import re
import shutil
import socket
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


API_SCRIPT = """
local ids = {%(ids)s}
local i = 0
request = function()
  i = i + 1
  local body = '{"instrument":"PHQ-9","answers":"0,1,2,3,0,1,2,3,0","site":"bench",' ..
    '"id_number":"' .. ids[(i %% #ids) + 1] .. '"}'
  return wrk.format("POST", "/api/v1/screening/assessments", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer %(key)s",
  }, body)
end
"""

WRK_SCRIPT = """
local ids = {%(ids)s}
local i = 0
request = function()
  i = i + 1
  local body = "csrfmiddlewaretoken=%(csrf)s&instrument=PHQ-9&answers=012301230" ..
    "&assessed_on=%(day)s&site=bench&id_number=" .. ids[(i %% #ids) + 1]
  return wrk.format("POST", "/screening/paper/", {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Cookie"] = "sessionid=%(session)s; csrftoken=%(csrf)s",
  }, body)
end
"""


def parse_wrk(text: str) -> dict:
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))

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
        "p50": ms("50%"),
        "p99": ms("99%"),
        "non_2xx": int(bad.group(1)) if bad else 0,
        "socket_errors": errors.group(0) if errors else "",
    }


def wrk(url: str, script: Path | None) -> dict:
    cmd = [*taskset(1), "wrk", "-t1", "-c32", f"-d{SECONDS}s", "--latency"]
    if script:
        cmd += ["-s", str(script)]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True)  # noqa: S603
    return parse_wrk(out.stdout)


def http_bench(env: dict, seeded: dict, workdir: Path, separate_worker: bool) -> dict:
    """The ceiling, the API submission and the paper form, interleaved, on one server.

    `separate_worker`: the production layout on PostgreSQL, where the crisis consumer runs as
    `xinan crisis_worker` (on CPU 1) and the web server does not run it in-process; on SQLite
    the embedded default keeps it inside the server process."""
    port = free_port()
    env = {**env, "XINAN_CRISIS_BACKGROUND": "0" if separate_worker else "1"}
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
            [*taskset(1), str(bin_dir / "xinan"), "crisis_worker"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        if separate_worker
        else None
    )
    base = f"http://127.0.0.1:{port}"
    ids = ",".join(f'"{n}"' for n in seeded["id_numbers"][:1000])
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
                "ids": ids,
                "csrf": seeded["csrf"],
                "session": seeded["session"],
                "day": dt.date.today().isoformat(),
            }
        )
        api = workdir / "api.lua"
        api.write_text(API_SCRIPT % {"ids": ids, "key": seeded["api_key"]})
        paths = {
            "hello": ("/healthz", None),
            "submit": ("/api/v1/screening/assessments", api),
            "paper": ("/screening/paper/", paper),
        }
        for path, script in paths.values():  # warm up every path
            wrk(base + path, script)
        runs: dict[str, list] = {name: [] for name in paths}
        for rep in range(REPS):
            for name, (path, script) in paths.items():
                runs[name].append(wrk(base + path, script))
            log(
                f"  http rep {rep + 1}: hello {runs['hello'][-1]['rps']:.0f}/s, "
                f"api {runs['submit'][-1]['rps']:.0f}/s p99 {runs['submit'][-1]['p99']} ms, "
                f"paper {runs['paper'][-1]['rps']:.0f}/s p99 {runs['paper'][-1]['p99']} ms, "
                f"non-2xx {runs['submit'][-1]['non_2xx'] + runs['paper'][-1]['non_2xx']}"
            )
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
            p99 = med([x["p99"] for x in r["http"]["submit"]])
            parts.append(
                f"(a) {sub / hello:.0%} of the ceiling, p99 {p99:.0f} ms — "
                f"{'met' if sub / hello >= 0.25 and p99 <= 100 else 'NOT met'}"
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
            parts.append(f"(b) {imp:.0%} of the ceiling — {'met' if imp >= 0.25 else 'NOT met'}")
            parts.append(
                f"(c) growth {mem[0] / 1024:.0f} MB → {mem[-1] / 1024:.0f} MB for a file "
                f"{r['memory'][-1]['rows'] // r['memory'][0]['rows']}× larger — "
                f"{'met' if flat else 'NOT met'}"
            )
        lines.append(f"- {name}: " + "; ".join(parts) + ".")
    return lines


def report(results: dict) -> str:
    lines = [
        "# Benchmarks",
        "",
        "Produced by `make bench` (`python -m bench.run`); method in "
        "../shared/reference/performance.md §5. Every figure is a median of "
        f"{REPS} interleaved runs with min–max in brackets, each beside a ceiling measured in "
        "the same run on the same machine.",
        "",
        f"- date: {dt.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}",
        f"- machine: {os.cpu_count()} CPUs ({cpu_model()}), {platform.system()} "
        f"{platform.release()}, Python {platform.python_version()}",
        f"- server: `xinan serve` (granian WSGI, 1 worker × {os.environ.get('XINAN_THREADS', '4')}"
        " blocking threads) pinned to CPU 0; wrk 4.1 `-t1 -c32 "
        f"-d{SECONDS}s` and PostgreSQL pinned to CPU 1",
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
        "instruments engine, the assessment, its audit row and its `assessment.scored` outbox "
        "row written in one transaction, 201 with the score. Beside it, the paper-entry form "
        "`POST /screening/paper/` as a logged-in counsellor (session, CSRF, the same service, "
        "302 to the next form). Ceiling: `GET /healthz` (a JSON view that runs `SELECT 1`) on "
        "the same server. Layout: on SQLite the embedded default, the crisis consumer a "
        "thread of the server process; on PostgreSQL production's, the consumer a separate "
        "`xinan crisis_worker` on CPU 1.",
        "",
        "| database | ceiling req/s | API req/s | API / ceiling | API p50 ms | API p99 ms "
        "| form req/s | form / ceiling | form p99 ms | non-2xx/3xx |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in results.items():
        if "http" not in r:  # a part left out of this run (BENCH_PARTS)
            continue
        hello = [x["rps"] for x in r["http"]["hello"]]
        sub = [x["rps"] for x in r["http"]["submit"]]
        form = r["http"].get("paper") or r["http"]["submit"]
        ratio = [s / h for s, h in zip(sub, hello, strict=True)]
        form_ratio = [f["rps"] / h * 100 for f, h in zip(form, hello, strict=True)]
        bad = sum(x["non_2xx"] for x in r["http"]["submit"] + form)
        lines.append(
            f"| {name} | {span(hello)} | {span(sub)} | {span([x * 100 for x in ratio], '{:.1f}')}%"
            f" | {span([x['p50'] for x in r['http']['submit']], '{:.1f}')}"
            f" | {span([x['p99'] for x in r['http']['submit']], '{:.1f}')}"
            f" | {span([f['rps'] for f in form])} | {span(form_ratio, '{:.1f}')}%"
            f" | {span([f['p99'] for f in form], '{:.1f}')} | {bad} |"
        )
    lines += [
        "",
        "Goal: ≥ 25% of the ceiling with p99 ≤ 100 ms at 32 clients.",
        "",
        f"## (b) Bulk import of {ROWS:,} PHQ-9 rows",
        "",
        "Import: `xinan.screening.importer.run` on a CSV of "
        f"{ROWS:,} rows ({PERSONS:,} people × {ROWS // PERSONS} dates): each row's ID number "
        "validated and hashed, the person found through the scope gate, answers parsed and "
        "scored by the engine (its compiled path for plain-data instruments), idempotency key "
        "checked, then the assessment and `assessment.scored` outbox rows written with COPY "
        "(PostgreSQL) or multi-row INSERTs (SQLite), plus one audit row per chunk and area, "
        "10,000 rows per transaction. Ceiling: the same assessment rows (the same people, "
        "areas, scores, bands and idempotency-key hashes, the same job), already built in "
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
        *verdict(results),
        "",
        "## Where the time goes (py-spy and /proc, SQLite, same machine)",
        "",
        "- Submission through the API: the token, its user and memberships come from a "
        "30-second per-process cache; the call takes the short middleware stack of token "
        "calls (`xinan/api/handler.py`, which also picks the language); then one indexed "
        "fetch of the person (scope checked in Python), one query for the previous total, "
        "scoring from the instrument's compiled tables, and BEGIN, three INSERTs with "
        "statements compiled once (`xinan/core/lib/fastsql.py`; the audit and outbox rows "
        "from values, without model instances), COMMIT.",
        "- Measured in one process without a server (2026-12-01, a fresh database): a "
        "submission costs 0.43–0.47 ms of CPU against 0.13 ms for `/healthz`. About a third "
        "is Django and django-ninja around the view (handler, middleware, URL resolution, "
        "body parsing and validation, the response); a tenth finding the person (ID check, "
        "keyed hash, fetch, scope); about 40% the transaction, of which SQLite's COMMIT is "
        "about 15%: it writes some 16 WAL frames (the three rows' table pages, their ten "
        "index pages, `sqlite_sequence`), two write calls each. Served, both the submission "
        "and the ceiling cost about a third more than in-process (the server's network and "
        "runtime threads share the one CPU); SQLite writers of one process queue on a Python "
        "lock (`xinan/core/sqlite`) and checkpoints run in a background thread, not inside a "
        "commit.",
        "- p99 at 32 clients follows throughput (Little's law: mean latency = 32 / req/s): "
        "≤ 100 ms needs at least 320 req/s, and about 400 to leave room for the tail.",
        "- Paper form: the same service plus a session and user lookup, memberships, CSRF, "
        "form validation, a flash message and a redirect.",
        "- Import: per 100,000 rows, roughly a third is inserting the assessments (as the "
        "ceiling does), a sixth the three per-chunk lookups (people by hash, existing "
        "idempotency keys, each person's latest previous total), a tenth the outbox rows, "
        "and the rest Python: reading and checking each row, the keyed hash and the scoring.",
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
