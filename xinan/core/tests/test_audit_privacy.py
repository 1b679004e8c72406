"""Issue 11.8: reasons written in an area (a grant's reason, possibly clinical) are for that
area's admins; a sysadmin reads them neither in the audit log nor in its export."""

import datetime as dt

from django.utils import timezone

from xinan.core import audit, scope

REASON = "居民自述有自伤想法，紧急查看档案"


def _export(client) -> str:
    response = client.get("/audit/export.csv")
    return b"".join(response.streaming_content).decode("utf-8-sig")


def test_a_grant_reason_is_for_the_area_admins_not_the_sysadmin(
    client, grid_worker, town_admin, sysadmin, person_a
):
    scope.grant_access(
        person_a,
        to_user=grid_worker,
        kind="break_glass",
        reason=REASON,
        source="test",
        expires_at=timezone.now() + dt.timedelta(hours=1),
        actor=grid_worker,
    )
    audit.record("api.token.issue", actor=sysadmin, object_type="api.apitoken", reason="对接系统")
    client.force_login(town_admin)
    assert REASON in client.get("/audit/").content.decode()
    assert REASON in _export(client)
    client.force_login(sysadmin)
    page = client.get("/audit/").content.decode()
    assert REASON not in page and "仅所在地区管理员可见" in page
    assert "对接系统" in page  # deployment-level reasons stay readable
    assert REASON not in _export(client)
