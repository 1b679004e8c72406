"""Shared fixtures: personas by role and place, a fast hasher, CI rules for skips."""

import os

import pytest

from xinan.testing import factories

pytest_plugins = ["xinan.testing.browser"]


def pytest_configure(config):
    # CI must not pass by skipping what it was meant to run. Under CI (or XINAN_STRICT=1) a
    # skipped browser test fails; a skipped postgres test fails only in the run that promises
    # PostgreSQL (XINAN_EXPECT_POSTGRES=1, set by .ci/run for its PostgreSQL pass), so the
    # SQLite pass may skip it.
    strict = os.environ.get("CI") == "true" or os.environ.get("XINAN_STRICT") == "1"
    config.xinan_no_skip = ({"browser"} if strict else set()) | (
        {"postgres"} if os.environ.get("XINAN_EXPECT_POSTGRES") == "1" else set()
    )
    _configure_redis(config, strict)


# -- redis marker ------------------------------------------------------------------------------
# Tests marked `redis` need the Redis server at XINAN_REDIS_URL (the crisis bus, xinan/core/bus.py)
# and take the `redis_bus` fixture, which skips without one. .ci/run starts Redis for both of its
# passes, so under CI (or XINAN_STRICT=1, or XINAN_EXPECT_REDIS=1) such a skip fails.


def _configure_redis(config, strict: bool) -> None:
    config.addinivalue_line("markers", "redis: needs Redis (XINAN_REDIS_URL)")
    if strict or os.environ.get("XINAN_EXPECT_REDIS") == "1":
        config.xinan_no_skip = config.xinan_no_skip | {"redis"}


@pytest.fixture
def redis_bus(settings):
    """The bus on Redis, on a channel of this test's own (other test runs may share the server)."""
    import uuid

    import redis

    url = os.environ.get("XINAN_REDIS_URL", "redis://127.0.0.1:6379/0")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except (redis.RedisError, OSError) as exc:
        pytest.skip(f"needs Redis at {url}: {exc}")
    settings.BUS_BACKEND = "redis"
    settings.BUS_REDIS_URL = url
    settings.BUS_CHANNEL = f"xinan-test-{uuid.uuid4().hex[:12]}"
    return url


# -- end of redis marker ---------------------------------------------------------------------


# -- flushing PostgreSQL by DELETE ---------------------------------------------------------------
# A transactional test (transaction=True, every browser test) ends with Django's flush, which on
# PostgreSQL is one TRUNCATE of every table: about 3 s for our ~80 tables, because TRUNCATE makes
# new files for each table and index, against about 10 ms for a DELETE of each (the few rows a
# test leaves). With ~80 such tests that was a third of the PostgreSQL pass. The DELETEs run in
# the flush's one transaction, where Django's deferred foreign keys let any order pass; a flush
# that resets sequences or cascades keeps Django's TRUNCATE. docs/decisions/0002-test-flush.md;
# xinan/core/tests/test_flush_by_delete.py checks it empties every table as TRUNCATE does.


def _flush_by_delete(original):
    def sql_flush(self, style, tables, *, reset_sequences=False, allow_cascade=False):
        if reset_sequences or allow_cascade or not tables:
            return original(
                self, style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade
            )
        return [f"DELETE FROM {self.quote_name(table)};" for table in tables]  # noqa: S608

    sql_flush.truncating = original
    return sql_flush


@pytest.fixture(scope="session", autouse=True)
def _postgres_flush_by_delete():
    try:
        from django.db.backends.postgresql.operations import DatabaseOperations
    except ImportError:  # no psycopg: no PostgreSQL run
        yield
        return
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            DatabaseOperations, "sql_flush", _flush_by_delete(DatabaseOperations.sql_flush)
        )
        yield


# -- end of flushing ------------------------------------------------------------------------------


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.skipped and item.config.xinan_no_skip:
        marks = {m.name for m in item.iter_markers()}
        if marks & item.config.xinan_no_skip:
            report.outcome = "failed"
            report.longrepr = f"skipped, which is not allowed in this run: {report.longrepr}"


@pytest.fixture(autouse=True)
def _fast_settings(settings, tmp_path):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.STORAGES = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def areas(db):
    return factories.area_tree()


@pytest.fixture
def grid_worker(areas):
    """Grid worker in grid A1 (华阳路街道)."""
    return factories.staff("grid_worker", area=areas["grid_a"], username="gw_a")


@pytest.fixture
def other_grid_worker(areas):
    """Grid worker in the other town (新泾镇)."""
    return factories.staff("grid_worker", area=areas["grid_b"], username="gw_b")


@pytest.fixture
def counsellor(areas):
    return factories.staff("counsellor", area=areas["town_a"], username="counsellor_a")


@pytest.fixture
def psychiatrist(areas):
    return factories.staff("psychiatrist", area=areas["district"], username="psy")


@pytest.fixture
def town_admin(areas):
    return factories.staff("area_admin", area=areas["town_a"], username="admin_a")


@pytest.fixture
def district_admin(areas):
    return factories.staff("area_admin", area=areas["district"], username="admin_district")


@pytest.fixture
def sysadmin(db):
    user = factories.staff("sysadmin", username="root_admin")
    user.is_staff = user.is_superuser = True
    user.save()
    return user


@pytest.fixture
def person_a(areas):
    """A resident of grid A1 with an ID number and phone."""
    return factories.PersonFactory(
        name="张三",
        home_area=areas["grid_a"],
        id_number=factories.valid_id_number("19800101"),
        phone="13912345678",
        notes="夜间失眠，情绪低落",
    )


@pytest.fixture
def person_b(areas):
    """A resident of the other town."""
    return factories.PersonFactory(
        name="李四", home_area=areas["grid_b"], id_number=factories.valid_id_number("19900202")
    )


@pytest.fixture
def resident_user(db):
    from xinan.accounts.services import register_resident

    return register_resident(phone="13700001111", password="Resident2026x")
