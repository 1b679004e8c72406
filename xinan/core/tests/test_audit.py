import csv
import io

import pytest

from xinan.core import audit
from xinan.core.models import AppendOnlyError, AuditEntry


def test_it_cannot_be_edited_or_deleted(sysadmin):
    entry = AuditEntry.objects.get(pk=audit.record("test.action", sysadmin, actor=sysadmin))
    entry.action = "changed"
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.all().delete()
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.update(action="x")


def test_the_admin_offers_no_edit_or_delete(client, sysadmin):
    entry = AuditEntry.objects.get(pk=audit.record("test.action", sysadmin, actor=sysadmin))
    client.force_login(sysadmin)
    assert client.get("/admin/core/auditentry/").status_code == 200
    page = client.get(f"/admin/core/auditentry/{entry.pk}/change/")
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    assert client.post(f"/admin/core/auditentry/{entry.pk}/delete/").status_code == 403
    assert AuditEntry.objects.filter(pk=entry.pk).exists()


def test_it_records_views_and_changes_without_sensitive_values(client, counsellor, person_a):
    client.force_login(counsellor)
    client.get(f"/people/{person_a.pk}/", REMOTE_ADDR="10.1.2.3")
    view = AuditEntry.objects.get(action="people.person.view")
    assert (view.actor, view.object_id, view.area_code) == (
        counsellor,
        str(person_a.pk),
        person_a.home_area_id,
    )
    assert view.ip_address == "10.1.2.3"
    client.post(
        f"/people/{person_a.pk}/edit/",
        {
            "name": "张三",
            "gender": "M",
            "home_area": person_a.home_area_id,
            "id_number": person_a.id_number,
            "phone": "13900001111",
        },
    )
    update = AuditEntry.objects.get(action="people.person.update")
    assert "phone" in update.changed_fields
    dumped = str(update.changed_fields) + update.reason
    assert "13900001111" not in dumped and person_a.id_number not in dumped


def test_area_admins_see_their_area_and_export_csv(
    client, town_admin, counsellor, person_a, person_b, district_admin
):
    client.force_login(district_admin)
    client.get(f"/people/{person_b.pk}/")
    client.force_login(counsellor)
    client.get(f"/people/{person_a.pk}/")
    client.force_login(town_admin)
    page = client.get("/audit/", {"action": "people.person.view"}).content.decode()
    assert "counsellor_a" in page and "admin_district" not in page
    response = client.get("/audit/export.csv", {"action": "people.person.view"})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows[0][0] == "时间"
    assert [r[1] for r in rows[1:]] == ["counsellor_a"]


def test_it_hides_the_log_from_staff_without_admin_roles(client, grid_worker):
    client.force_login(grid_worker)
    assert client.get("/audit/").status_code == 404
    assert client.get("/audit/export.csv").status_code == 404
