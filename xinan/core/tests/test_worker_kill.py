"""Two worker processes on PostgreSQL, one of them killed with SIGKILL again and again: every
event is processed, none twice — on the default lane (a 2 s lease here) and on the critical lane
(its own short lease, 1.5 s, renewed by the heartbeat)."""

import os
import signal
import subprocess
import sys
import time

import pytest
from django.db import connection, transaction

from xinan.core import outbox
from xinan.core.models import AuditEntry, Delivery

pytestmark = [pytest.mark.postgres]

TOPIC = "test.kill.work"
N = 600

# A worker process whose one consumer writes an audit row per event (append-only, no unique
# key: a second processing would show as a second row) and takes a few ms doing it.
_WORKER = """
import sys, time, django
django.setup()
from xinan.core import audit, events, worker

@events.consumer("test.kill.work", name="test.kill.record", lane=sys.argv[2])
def record(event):
    audit.record("test.kill.processed", actor=None, object_type="t", object_id=event.id)
    time.sleep(0.003)

w = worker.Worker([sys.argv[2]], name=sys.argv[1])
w.start()
print("ready", flush=True)
while True:
    time.sleep(1)
"""


def _start(name: str, lane: str, env: dict) -> subprocess.Popen:
    return subprocess.Popen(  # noqa: S603
        [sys.executable, "-c", _WORKER, name, lane], env=env, stdout=subprocess.PIPE, text=True
    )


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("lane", ["default", "critical"])
def test_two_workers_lose_nothing_and_double_nothing_when_one_is_killed_again_and_again(
    settings, lane
):
    if connection.vendor != "postgresql":
        pytest.skip(f"needs PostgreSQL, this run uses {connection.vendor}")
    with transaction.atomic():
        ids = [outbox.emit(TOPIC, {"n": n}) for n in range(N)]
    # The deliveries were written by this process, which does not know the consumer: write
    # them as a process that knew it would have.
    Delivery.objects.bulk_create(
        Delivery(event_id=pk, consumer="test.kill.record", lane=lane) for pk in ids
    )
    db = connection.settings_dict
    url = f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "XINAN_WORKER_BACKGROUND": "0",
        "XINAN_WORKER_LEASE_SECONDS": "2",
        "XINAN_WORKER_POLL_SECONDS": "0.1",
        "XINAN_BUS_CHANNEL": f"xinan_kill_{os.getpid()}",
    }
    steady = _start("steady", lane, env)
    victims = 0
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            victim = _start(f"victim{victims}", lane, env)
            victim.stdout.readline()  # ready
            time.sleep(0.7)  # mid-batch, holding leases
            victim.send_signal(signal.SIGKILL)
            victim.wait(10)
            victims += 1
            if not Delivery.objects.filter(consumer="test.kill.record").exists():
                break
        while Delivery.objects.filter(consumer="test.kill.record").exists():
            assert time.monotonic() < deadline, "deliveries left after two minutes"
            time.sleep(0.2)
    finally:
        steady.kill()
        steady.wait(10)
    processed = list(
        AuditEntry.objects.filter(action="test.kill.processed").values_list("object_id", flat=True)
    )
    assert victims >= 2
    assert sorted(int(x) for x in processed) == sorted(ids)  # every one, each once
