"""Walk every URL pattern of the project as every demo role against another scope's records.

The other scope is the district 徐汇区 (310104): a resident's record, account and consent, an
assessment, a campaign and its invitation, an import job, an alert, a hotline call, a callback
request, a duty shift, a break-the-glass grant, areas and staff of its own. The walking roles all
work in 长宁区 (310105): a grid worker, a social worker, a counsellor, a doctor, a psychiatrist
(district-wide), a crisis worker on duty, a town admin, a district admin, a grid worker of the
other town, a sysadmin, a resident, and an anonymous visitor. Each URL is called with GET and
with POST (the test client does not check CSRF, so the POST reaches the view).

The rules (xinan/testing/scope_walk.py):
- `Hidden` — a URL naming a record of the other scope answers 404 or a redirect to login. A 302
  elsewhere, a 403 or a 405 passes only when an id that does not exist gets exactly the same
  answer (a staff-only page sending residents home, a POST-only view refusing a GET: decided
  before any lookup, so it reveals nothing). We chose 404 over 403 for roles that lack a page
  entirely (`role_required`), as for a missing record; 403 appears only where Django decides it
  for every id alike (CSRF, the admin).
- `Page` / `Api` — a page naming no such record (lists, forms, bearer links): anything but a
  5xx, and none of the other scope's secrets (names, ID numbers, phones, notes, reasons) in
  the answer, except what the request itself sent (a search box shows back what was typed).
- `Admin` — Django's admin: only the sysadmin gets in (everyone else is sent to the admin's
  login or gets 404); the sysadmin's admin pages follow Page's rules, on the other scope's rows.
- After every request, no watched row of the other scope has changed (a role's POST with valid
  data for another scope's record must be refused, not saved), but where a target says a role
  may change it (a sysadmin importing areas).

Every URL pattern must be registered (`test_every_url_pattern_is_walked`). To add a URL: in
your app's `xinan/<app>/tests/scope_walk.py` (create it if your app has none), build your
records of the other scope in `build(world)` (`world.add`, `world.secret`, `world.watch`; the
world already holds `person`, `staff`, `admin`, `crisis_worker`, `district`, `town`,
`village`, `grid`, `institution`, and what the apps before yours added), and map each URL
name to `Hidden(lambda w: {...kwargs...}, data=...)` or `Page(...)`. See CONTRIBUTING.md.

The world is built once per module (the `world` fixture, in a transaction rolled back at the
end) and each role walks in a savepoint inside it, so a `build` must not depend on a test's
own fixtures (`settings`, `tmp_path`); it runs with the fast password hasher and
SCREENING_IMPORT_INLINE on.
"""

import datetime as dt
import json

import pytest
from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from xinan.testing import factories
from xinan.testing import scope_walk as walk

ROLES = [
    "grid_worker",
    "social_worker",
    "counsellor",
    "doctor",
    "psychiatrist",
    "crisis_worker",
    "town_admin",
    "district_admin",
    "other_town",
    "sysadmin",
    "resident",
    "anonymous",
]


def make_user(role: str, areas):
    if role == "anonymous":
        return None
    if role == "sysadmin":
        user = factories.staff("sysadmin", username="walk_sysadmin")
        user.is_staff = user.is_superuser = True
        user.save()
        return user
    if role == "resident":
        user = factories.UserFactory(username="walk_resident")
        factories.PersonFactory(name="本区居民", home_area=areas["grid_a"], user=user)
        return user
    place = {
        "grid_worker": ("grid_worker", "grid_a"),
        "social_worker": ("social_worker", "village_a"),
        "counsellor": ("counsellor", "town_a"),
        "doctor": ("doctor", "town_a"),
        "psychiatrist": ("psychiatrist", "district"),
        "crisis_worker": ("crisis_worker", "town_a"),
        "town_admin": ("area_admin", "town_a"),
        "district_admin": ("area_admin", "district"),
        "other_town": ("grid_worker", "grid_b"),
    }[role]
    user = factories.staff(place[0], area=areas[place[1]], username=f"walk_{role}")
    if role == "crisis_worker":
        from xinan.crisis.models import DutyShift

        now = timezone.now()
        DutyShift.objects.create(
            user=user,
            area=areas["town_a"],
            starts_at=now - dt.timedelta(hours=1),
            ends_at=now + dt.timedelta(hours=8),
        )
    return user


def _body(response) -> str:
    raw = b"".join(response.streaming_content) if response.streaming else response.content
    return raw.decode("utf-8", "replace")


def _to_login(response) -> bool:
    if response.status_code not in (301, 302):
        return False
    location = response["Location"].split("?")[0]
    return location.endswith((reverse("accounts:login"), reverse("admin:login")))


def _sent(data: dict) -> set[str]:
    values = set()
    for v in data.values():
        for item in v if isinstance(v, list | tuple) else [v]:
            if isinstance(item, str | int):
                values.add(str(item))
    return values


def _plain(data: dict) -> dict:
    """The data fit for a query string (no files)."""
    return {k: v for k, v in data.items() if isinstance(v, str | int | list)}


def _admin_kwargs(name: str, pattern, world) -> dict:
    """Arguments of an admin URL: the other scope's row of that model where there is one."""
    model = None
    for registered in admin.site._registry:
        opts = registered._meta
        if name.removeprefix("admin:").startswith(f"{opts.app_label}_{opts.model_name}_"):
            model = registered
    kwargs = {}
    for key in pattern.pattern.regex.groupindex:
        if key in ("object_id", "id"):
            obj = world.of_model(model) if model else None
            if obj is None and model is not None:
                obj = model._default_manager.first()
            kwargs[key] = str(obj.pk if obj is not None else world.admin.pk)
        elif key == "app_label":
            kwargs[key] = "core"
        elif key == "content_type_id":
            kwargs[key] = str(ContentType.objects.get_for_model(world.town).pk)
        else:
            kwargs[key] = "1"
    if name == "admin:view_on_site":
        kwargs["object_id"] = str(world.town.pk)
    return kwargs


class Walker:
    def __init__(self, client, role, user, world):
        self.client, self.role, self.user, self.world = client, role, user, world
        self.token = None
        if user is not None and role != "resident":
            from xinan.api import services as api_services

            self.token = api_services.issue(user, "walk")[1]
        self.failures: list[str] = []
        self.requests = 0

    def login(self):
        if self.user is not None:
            self.client.force_login(self.user)
        else:
            self.client.logout()

    def call(self, method: str, url: str, data: dict, *, api=False):
        self.requests += 1
        if api:
            headers = {"HTTP_AUTHORIZATION": f"Bearer {self.token}"} if self.token else {}
            if method == "GET":
                return self.client.get(url, **headers)
            return self.client.post(
                url, json.dumps(data), content_type="application/json", **headers
            )
        if method == "GET":
            return self.client.get(url, _plain(data))
        return self.client.post(url, data)

    def fail(self, name, method, url, why):
        self.failures.append(f"{self.role} {method} {url} ({name}): {why}")

    def check_page(self, name, method, url, response, data):
        if response.status_code >= 500:
            self.fail(name, method, url, f"answered {response.status_code}")
            return
        body = _body(response)
        for secret in self.world.secrets_for(self.role, _sent(data)):
            if secret in body:
                self.fail(name, method, url, f"shows {secret!r} of the other scope")

    def check_hidden(self, name, method, url, response, target, kwargs):
        if response.status_code == 404 or _to_login(response):
            return
        missing_url = reverse(name, kwargs=walk.missing(kwargs))
        missing_data = target.data(self.world) if target.data else {}
        missing_response = self.call(method, missing_url, missing_data)
        same = response.status_code == missing_response.status_code and response.get(
            "Location"
        ) == missing_response.get("Location")
        if same and response.status_code in (302, 403, 405):
            return
        self.fail(
            name,
            method,
            url,
            f"answered {response.status_code} {response.get('Location', '')} where a missing "
            f"id gets {missing_response.status_code}",
        )

    def walk(self, name, pattern, target):
        world = self.world
        if target.admin:
            kwargs = _admin_kwargs(name, pattern, world)
        else:
            kwargs = target.kwargs(world) if target.kwargs else {}
        url = reverse(name, kwargs=kwargs)
        for method in ("GET", "POST"):
            data = target.data(world) if target.data else {}
            # GETs change nothing: the whole walk's GETs are compared at its end
            before = world.snapshot() if method == "POST" else None
            response = self.call(method, url, data, api=target.api)
            if "logout" in name:
                self.login()  # a logout pattern must not end the walk
            if target.admin and self.role != "sysadmin":
                if not (response.status_code in (404, 405) or _to_login(response)):
                    self.fail(name, method, url, f"admin answered {response.status_code}")
            elif target.hidden:
                self.check_hidden(name, method, url, response, target, kwargs)
                self.check_page(name, method, url, response, data)
            else:
                self.check_page(name, method, url, response, data)
            if before is not None and self.role not in target.may_change:
                after = world.snapshot()
                changed = [label for label in before if before[label] != after[label]]
                if changed:
                    self.fail(name, method, url, f"changed {', '.join(changed)}")


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """The other scope, built once for the module's dozen walks, inside a transaction rolled
    back after the last. Each test runs in a savepoint within it (pytest-django's `db`), so
    what one role's walk wrote is undone before the next role walks."""
    fast = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    with (
        django_db_blocker.unblock(),
        override_settings(PASSWORD_HASHERS=fast, SCREENING_IMPORT_INLINE=True),
        transaction.atomic(),
    ):
        built = walk.build_world()
        yield built
        transaction.set_rollback(True)


@pytest.mark.parametrize("role", ROLES)
def test_no_role_reaches_another_scope_through_any_url(client, world, areas, role, settings):
    settings.SCREENING_IMPORT_INLINE = True
    user = make_user(role, areas)
    walker = Walker(client, role, user, world)
    walker.login()
    targets = walk.registry()
    start = world.snapshot(fresh=True)
    for name, pattern in walk.url_names().items():
        target = walk.target_for(name, targets)
        if target is None or target.skip:
            continue  # test_every_url_pattern_is_walked reports it
        walker.walk(name, pattern, target)
    end = world.snapshot(fresh=True)
    changed = [label for label in start if start[label] != end[label]]
    if changed and role != "sysadmin":  # the one role a POST may let change areas there
        walker.failures.append(f"{role}: the walk as a whole changed {', '.join(changed)}")
    assert walker.requests > 200
    assert not walker.failures, "\n".join(walker.failures)


def test_every_url_pattern_is_walked():
    """A new URL pattern fails here until its app's tests/scope_walk.py registers it."""
    targets = walk.registry()
    names = walk.url_names()
    missing = [n for n in names if walk.target_for(n, targets) is None]
    assert not missing, (
        "URL patterns not registered with the walk-every-URL test (see the docstring of "
        f"xinan/core/tests/test_scope_walk.py): {missing}"
    )
    exact = {k for k in targets if not k.endswith("*")}
    stale = sorted(exact - set(names))
    assert not stale, f"registered in a scope_walk.py but no such URL name: {stale}"


def test_the_world_is_out_of_every_walker_s_scope(world, areas):
    from xinan.core import scope

    for role in ROLES:
        user = make_user(role, areas)
        if user is None:
            continue
        assert not scope.persons(user).filter(pk=world.person.pk).exists(), role
    assert world.person.home_area_id.startswith("310104")
    assert {"person", "assessment", "alert", "call", "grant", "campaign", "town"} <= set(
        world.objects
    )


@pytest.mark.parametrize("how", ["orm", "raw sql", "delete", "insert"])
def test_a_snapshot_sees_every_write_to_a_watched_table(areas, how):
    """The walk's snapshot is read again only when the database counts a write to a watched
    table (World.snapshot); a write of any kind must count."""
    from django.db import connection

    from xinan.core.models import Area

    world = walk.World()
    world.watch("areas", Area.objects.filter(code__startswith="310105"))
    first = world.snapshot()
    assert world.snapshot() is first  # nothing written: not read again
    factories.UserFactory(username="unwatched_write")  # another table: the rows are unchanged
    assert world.snapshot() == first
    town = areas["town_a"]
    if how == "orm":
        Area.objects.filter(pk=town.pk).update(name="改名")
    elif how == "raw sql":
        with connection.cursor() as cursor:
            cursor.execute("UPDATE core_area SET name = %s WHERE code = %s", ["改名", town.code])
    elif how == "delete":
        Area.objects.filter(pk=areas["grid_a"].pk).delete()
    else:
        factories.area("310105001009", "新村", "village", town)
    assert world.snapshot() != first
