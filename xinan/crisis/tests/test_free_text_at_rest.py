"""Issue 11.8: an alert's free text (a manual reason, a closing reason) is encrypted at rest and
never copied into the audit log that sysadmins read."""

from django.db import connection

from xinan.core.models import AuditEntry
from xinan.crisis import services
from xinan.crisis.models import Alert

REASON = "自述近一周有轻生念头，已停药"
CLOSING = "已送市精神卫生中心住院治疗"


def _raw(pk):
    with connection.cursor() as cursor:
        cursor.execute("SELECT summary, close_reason FROM crisis_alert WHERE id = %s", [pk])
        return cursor.fetchone()


def test_alert_free_text_is_encrypted_and_kept_out_of_the_audit_log(
    client, grid_worker, crisis_a, sysadmin, district_admin, person_a
):
    alert = services.raise_manual_alert(person_a, actor=grid_worker, level="orange", reason=REASON)
    services.acknowledge_alert(alert, actor=crisis_a)
    services.close_alert(alert, actor=crisis_a, reason=CLOSING)
    summary, close_reason = _raw(alert.pk)
    assert REASON not in summary and CLOSING not in close_reason
    alert = Alert.objects.get(pk=alert.pk)
    assert (alert.summary, alert.close_reason) == (REASON, CLOSING)
    reasons = " ".join(AuditEntry.objects.values_list("reason", flat=True))
    assert REASON not in reasons and CLOSING not in reasons
    assert AuditEntry.objects.get(action="crisis.alert.raise").changed_fields == ["summary"]
    for viewer in (sysadmin, district_admin):
        client.force_login(viewer)
        for url in ("/audit/", "/audit/export.csv"):
            response = client.get(url)
            body = (
                b"".join(response.streaming_content) if response.streaming else response.content
            ).decode("utf-8-sig")
            assert "crisis.alert.close" in body or "危机" in body
            assert REASON not in body and CLOSING not in body
    # the crisis worker still reads them on the alert
    client.force_login(crisis_a)
    page = client.get(f"/crisis/alerts/{alert.pk}/").content.decode()
    assert REASON in page
