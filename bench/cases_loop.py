"""Benchmarks of the closed loop (issue 13), each beside a ceiling measured in the same run:

(w) a user's worklist page (`/cases/`) with BENCH_CASES_OPEN open and BENCH_CASES_CLOSED closed
    tasks across the district's areas, 10 concurrent users, p95, beside `/healthz` on the same
    server;
(t) a person's page with a timeline of 500 items, p95, beside `/healthz`;
(c) opening cases from `assessment.scored` events: the consumer's service time per event, and
    the lag of events offered at 200/s to one consumer thread.

    python -m bench.cases_loop            # both databases, the issue's sizes
    BENCH_CASES_OPEN=100000 BENCH_CASES_CLOSED=200000 python -m bench.cases_loop

The load generator is Python threads with keep-alive connections (no wrk on this machine);
the server is `xinan serve` pinned to CPU 0, the client to CPU 1. Prints a Markdown section.
"""

import datetime as dt
import http.client
import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

from bench.doc import write_part
from bench.run import PY, ROOT, Postgres, Sqlite, free_port, log, taskset

OPEN = int(os.environ.get("BENCH_CASES_OPEN", "1000000"))
CLOSED = int(os.environ.get("BENCH_CASES_CLOSED", "2000000"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "10"))
REPS = int(os.environ.get("BENCH_REPS", "3"))
USERS = 10
PERSONS = 100_000
TOWNS, VILLAGES, GRIDS = 10, 10, 3
ROLES = ["counsellor", "grid_worker", "social_worker", "doctor", "psychiatrist"]


# ---------------------------------------------------------------- in the child (Django set up)


def _setup() -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "xinan.settings")
    django.setup()


def _session(user) -> str:
    from django.conf import settings
    from django.contrib.sessions.backends.db import SessionStore

    s = SessionStore()
    s["_auth_user_id"] = str(user.pk)
    s["_auth_user_backend"] = settings.AUTHENTICATION_BACKENDS[0]
    s["_auth_user_hash"] = user.get_session_auth_hash()
    s.create()
    return s.session_key


def seed() -> dict:
    """Areas, people, ten counsellors (one per town) and the tasks, in bulk."""
    from django.db import connection, transaction
    from django.utils import timezone

    from xinan.accounts.models import Membership, User
    from xinan.cases.models import Task
    from xinan.core.models import Area
    from xinan.people.models import Person

    rng = random.Random(13)
    t0 = time.perf_counter()
    city = Area.objects.create(code="310000000000", name="上海市", level="city")
    district = Area.objects.create(
        code="310105000000", name="长宁区", level="district", parent=city
    )
    towns, villages, grids = [], [], []
    for t in range(1, TOWNS + 1):
        towns.append(Area(code=f"310105{t:03d}000", name=f"街道{t}", level="town", parent=district))
        for v in range(1, VILLAGES + 1):
            code = f"310105{t:03d}{v:03d}"
            villages.append(Area(code=code, name=f"居委{t}-{v}", level="village", parent=towns[-1]))
            for g in range(1, GRIDS + 1):
                grids.append(
                    Area(
                        code=f"{code}{g:03d}",
                        name=f"网格{code}{g}",
                        level="grid",
                        parent=villages[-1],
                    )
                )
    Area.objects.bulk_create(towns + villages + grids, batch_size=1000)
    people = Person.objects.bulk_create(
        [
            Person(name=f"居民{i}", gender="F" if i % 2 else "M", home_area=grids[i % len(grids)])
            for i in range(PERSONS)
        ],
        batch_size=5000,
    )
    person_ids = [(p.pk, p.home_area_id) for p in people]
    users = []
    for t, town in enumerate(towns):
        user = User.objects.create(username=f"bench_counsellor_{t}")
        Membership.objects.create(user=user, role="counsellor", area=town)
        users.append(user)
    now = timezone.now()
    table = Task._meta.db_table
    columns = [
        "person_id",
        "kind",
        "title",
        "due_at",
        "status",
        "assignee_id",
        "assignee_role",
        "assignee_area_code",
        "area_code",
        "created_at",
        "done_at",
        "result",
    ]
    sql = "INSERT INTO {} ({}) VALUES ({})".format(  # noqa: S608 — names from meta
        table, ", ".join(columns), ", ".join(["%s"] * len(columns))
    )

    def rows(n: int, status: str):
        for i in range(n):
            pid, area = person_ids[rng.randrange(PERSONS)]
            due = now + dt.timedelta(hours=rng.uniform(-240, 2000))
            mine = i % 1000 == 0  # 0.1% to a named user (the ten users hold ~1,000 open)
            yield (
                pid,
                "first_contact",
                "筛查阳性：3天内首次联系",
                due,
                status,
                users[int(area[6:9]) - 1].pk if mine else None,
                "" if mine else ROLES[i % len(ROLES)],
                "" if mine else area,
                area,
                due - dt.timedelta(days=3),
                due if status == "done" else None,
                "",
            )

    batch = 20_000
    for n, status in ((OPEN, "open"), (CLOSED, "done")):
        done = 0
        gen = rows(n, status)
        while done < n:
            chunk = [next(gen) for _ in range(min(batch, n - done))]
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.executemany(sql, chunk)
            done += len(chunk)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {table}")
    else:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return {
        "sessions": [_session(u) for u in users],
        "seconds": round(time.perf_counter() - t0, 1),
        "open": Task.objects.filter(status="open").count(),
        "closed": Task.objects.filter(status="done").count(),
        "mine": [Task.objects.filter(status="open", assignee=u).count() for u in users[:1]],
    }


def seed_timeline() -> dict:
    """One person with 500 timeline items: assessments, a case's events, tasks, sessions,
    referrals, follow-ups; seen by a counsellor of their town."""
    from django.utils import timezone

    from xinan.accounts.models import Membership, User
    from xinan.cases.models import (
        Case,
        CaseEvent,
        FollowUp,
        Intervention,
        Referral,
        Task,
    )
    from xinan.core.models import Area, Institution
    from xinan.people.models import Person
    from xinan.screening.models import Assessment

    now = timezone.now()
    grid = Area.objects.filter(level="grid").order_by("code").first()
    town = Area.objects.get(code=grid.code[:9] + "000")
    person = Person.objects.create(name="时间线居民", gender="F", home_area=grid)
    user = User.objects.create(username="bench_timeline")
    Membership.objects.create(user=user, role="counsellor", area=town)
    mhc = Institution.objects.create(name="精神卫生中心", kind="mhc", area=town)
    case = Case.objects.create(person=person, line="general", source="manual", area_code=grid.code)
    at = [now - dt.timedelta(hours=i) for i in range(500)]
    Assessment.objects.bulk_create(
        [
            Assessment(
                person=person,
                instrument="PHQ-9",
                version="1",
                total=10 + i % 10,
                band="moderate",
                band_label="中度",
                mode="self",
                area_code=grid.code,
                submitted_at=at[i],
            )
            for i in range(0, 100)
        ]
    )
    CaseEvent.objects.bulk_create(
        [CaseEvent(case=case, kind="signal", note=f"事件{i}", at=at[i]) for i in range(100, 200)]
    )
    Task.objects.bulk_create(
        [
            Task(
                case=case,
                person=person,
                kind="other",
                title=f"任务{i}",
                due_at=at[i],
                area_code=grid.code,
                assignee=user,
                created_at=at[i],
            )
            for i in range(200, 300)
        ]
    )
    Intervention.objects.bulk_create(
        [
            Intervention(
                case=case,
                person=person,
                kind="individual",
                by=user,
                started_at=at[i],
                minutes=50,
                online=True,
                notes=f"记录{i}",
            )
            for i in range(300, 400)
        ]
    )
    Referral.objects.bulk_create(
        [
            Referral(
                case=case,
                person=person,
                direction="up",
                to_institution=mhc,
                urgency="routine",
                reason=f"原因{i}",
                sent_by=user,
                sent_at=at[i],
                answer_due_at=at[i],
                legal_basis="bench",
            )
            for i in range(400, 450)
        ]
    )
    FollowUp.objects.bulk_create(
        [
            FollowUp(
                case=case,
                person=person,
                instrument="phq9",
                due_at=at[i],
                mode="staff",
                status="done",
                done_at=at[i],
            )
            for i in range(450, 500)
        ]
    )
    from xinan.cases import timeline

    return {
        "person": person.pk,
        "session": _session(user),
        "items": len(timeline.for_person(user, person)),
    }


def consumer() -> dict:
    """(c): the positive-screen consumer, first as service time per event, then fed 200/s."""
    from django.utils import timezone

    from xinan.cases.consumers import open_from_positive_screen
    from xinan.core.events import Event
    from xinan.people.models import Person

    # A fresh block of people and assessment ids per run (BENCH_CASES_OFFSET), so a second
    # run on the same database does not meet the first run's keys.
    offset = int(os.environ.get("BENCH_CASES_OFFSET", "0"))
    ids = list(
        Person.objects.order_by("pk").values_list("pk", "home_area_id")[offset : offset + 4000]
    )

    def event(i: int) -> Event:
        pid, area = ids[i]
        return Event(
            id=i,
            topic="assessment.scored",
            payload={
                "assessment_id": 10_000_000 + offset + i,
                "person_id": pid,
                "instrument": "PHQ-9",
                "total": 14,
                "positive": True,
                "area_code": area,
                "submitted_at": timezone.now().isoformat(),
            },
        )

    service = []
    for i in range(1000):
        t = time.perf_counter()
        open_from_positive_screen(event(i))
        service.append((time.perf_counter() - t) * 1000)
    # 200 submissions/s for 10 s, 20% of them positive (only those open a case; the consumer
    # returns at once for the others): a producer schedules them, one consumer thread takes
    # them in order; lag = handled − due.
    rate, count = 200, 2000
    start = time.perf_counter() + 0.1
    lags = []
    for n in range(count):
        due = start + n / rate
        wait = due - time.perf_counter()
        if wait > 0:
            time.sleep(wait)
        e = event(1000 + n)
        if n % 5:
            e = Event(id=e.id, topic=e.topic, payload={**e.payload, "positive": False})
        open_from_positive_screen(e)
        lags.append((time.perf_counter() - due) * 1000)
    return {
        "service_p50": statistics.median(service),
        "service_p99": sorted(service)[int(len(service) * 0.99)],
        "capacity": 1000 / statistics.mean(service),
        "lag_p50": statistics.median(lags),
        "lag_p99": sorted(lags)[int(len(lags) * 0.99)],
    }


# ---------------------------------------------------------------- the parent


def child(env: dict, what: str) -> dict:
    out = subprocess.run(  # noqa: S603
        [*taskset(1), PY, "-m", "bench.cases_loop", what],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if out.returncode:
        raise SystemExit(f"bench.cases_loop {what} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def hammer(port: int, path: str, cookies: list[str], seconds: float) -> dict:
    """10 threads, each a user with a keep-alive connection, GET `path` for `seconds`."""
    latencies, errors = [], []
    stop = time.perf_counter() + seconds
    lock = threading.Lock()

    def user(cookie: str) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine = []
        while time.perf_counter() < stop:
            t = time.perf_counter()
            conn.request("GET", path, headers={"Cookie": cookie} if cookie else {})
            r = conn.getresponse()
            r.read()
            mine.append((time.perf_counter() - t) * 1000)
            if r.status != 200:
                errors.append(r.status)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=user, args=(c,)) for c in cookies]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    latencies.sort()
    return {
        "n": len(latencies),
        "rps": len(latencies) / seconds,
        "p50": latencies[len(latencies) // 2],
        "p95": latencies[int(len(latencies) * 0.95)],
        "errors": len(errors),
    }


def serve(env: dict):
    port = free_port()
    server = subprocess.Popen(  # noqa: S603
        [*taskset(0), str(Path(PY).parent / "xinan"), "serve", "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(150):
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            c.request("GET", "/healthz")
            c.getresponse().read()
            break
        except OSError:
            time.sleep(0.2)
    return server, port


def run_backend(db) -> dict:
    env = {**os.environ, "DATABASE_URL": db.url, "XINAN_CRISIS_BACKGROUND": "0"}
    subprocess.run(  # noqa: S603
        [str(Path(PY).parent / "xinan"), "migrate", "-v0"], env=env, cwd=ROOT, check=True
    )
    log(f"{db.name}: seeding {OPEN:,} open + {CLOSED:,} closed tasks")
    seeded = child(env, "seed")
    log(f"{db.name}: seeded in {seeded['seconds']} s ({seeded['open']:,} open)")
    timeline = child(env, "seed_timeline")
    server, port = serve(env)
    result = {"seeded": seeded, "timeline_items": timeline["items"], "w": [], "t": [], "hz": []}
    cookies = [f"sessionid={s}" for s in seeded["sessions"]]
    tl = [f"sessionid={timeline['session']}"] * USERS
    try:
        for path, cks in (("/cases/", cookies), ("/healthz", [""] * USERS)):
            hammer(port, path, cks, 2)  # warm up
        for rep in range(REPS):
            result["hz"].append(hammer(port, "/healthz", [""] * USERS, SECONDS))
            result["w"].append(hammer(port, "/cases/", cookies, SECONDS))
            result["t"].append(hammer(port, f"/people/{timeline['person']}/", tl, SECONDS))
            log(
                f"  rep {rep + 1}: healthz p95 {result['hz'][-1]['p95']:.1f} ms, worklist p95 "
                f"{result['w'][-1]['p95']:.1f} ms, timeline p95 {result['t'][-1]['p95']:.1f} ms"
            )
    finally:
        server.terminate()
        server.wait(timeout=30)
    result["c"] = child(env, "consumer")
    return result


def med(runs: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in runs)


MARK = "## Closed loop"


def report(results: dict) -> str:
    one, five, _ = os.getloadavg()
    lines = [
        f"{MARK} (issue 13): `python -m bench.cases_loop`",
        "",
        f"- date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; machine: {os.cpu_count()}"
        f" CPUs, load average {one:.1f}/{five:.1f} at the end (other sessions share it);"
        f" server `xinan serve` on CPU 0, the Python load generator (10 threads, keep-alive)"
        f" on CPU 1; medians of {REPS} interleaved {SECONDS:.0f}-second runs",
        f"- tasks: {OPEN:,} open and {CLOSED:,} closed across 300 grids of 10 towns, 99.9%"
        " addressed to one of five roles at a grid, 0.1% to one of the ten users;"
        " each user is a counsellor of one town (so their list also holds that town's"
        " counsellor-role tasks)",
        "",
        "| database | seed s | healthz p95 ms | worklist p95 ms | worklist req/s | worklist /"
        " healthz req/s | timeline (items) p95 ms | timeline req/s | errors |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in results.items():
        hz, w, t = r["hz"], r["w"], r["t"]
        errors = sum(x["errors"] for x in hz + w + t)
        lines.append(
            f"| {name} | {r['seeded']['seconds']} | {med(hz, 'p95'):.1f} | {med(w, 'p95'):.1f} |"
            f" {med(w, 'rps'):.0f} | {100 * med(w, 'rps') / med(hz, 'rps'):.1f}% |"
            f" {med(t, 'p95'):.1f} ({r['timeline_items']}) | {med(t, 'rps'):.0f} | {errors} |"
        )
    lines += [
        "",
        "| database | consumer p50 ms | p99 ms | capacity events/s | lag at 200/s p50 ms |"
        " lag p99 ms |",
        "|---|---|---|---|---|---|",
    ]
    for name, r in results.items():
        c = r["c"]
        lines.append(
            f"| {name} | {c['service_p50']:.1f} | {c['service_p99']:.1f} | {c['capacity']:.0f} |"
            f" {c['lag_p50']:.1f} | {c['lag_p99']:.1f} |"
        )
    return "\n".join(lines)


def main() -> None:
    if len(sys.argv) > 1:
        _setup()
        print(
            json.dumps(
                {"seed": seed, "seed_timeline": seed_timeline, "consumer": consumer}[sys.argv[1]]()
            )
        )
        return
    results = {}
    for backend in [Sqlite, Postgres][: int(os.environ.get("BENCH_CASES_DBS", "2"))]:
        with backend() as db:
            results[db.name] = run_backend(db)
    text = report(results)
    write_part(MARK, text)
    print(text)


if __name__ == "__main__":
    main()
