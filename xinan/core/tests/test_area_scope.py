"""Issue 11.2: area changes are scoped like everything else, and each one is audited."""

from django.core.files.uploadedfile import SimpleUploadedFile

from xinan.core.models import Area, AuditEntry


def _post(client, text: str, encoding: str = "utf-8"):
    upload = SimpleUploadedFile("areas.csv", text.encode(encoding))
    return client.post("/areas/import/", {"file": upload})


def test_it_refuses_a_town_admin_changing_another_town(client, town_admin, areas):
    client.force_login(town_admin)
    response = _post(
        client,
        "code,name,level\n310105102950,探针越权村,village\n310105102000,新泾镇改名,town\n",
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "第2行：区划“310105102950”不在您管辖的区划之下" in page
    assert "第3行：区划“310105102000”不在您管辖的区划之下" in page
    assert not Area.objects.filter(code="310105102950").exists()
    assert Area.objects.get(code="310105102000").name == "新泾镇"
    assert not AuditEntry.objects.filter(action__startswith="core.area").exists()


def test_it_refuses_a_town_admin_renaming_its_own_town(client, town_admin, areas):
    client.force_login(town_admin)
    page = _post(client, "code,name,level\n310105001000,华阳路改名,town\n").content.decode()
    assert "不在您管辖的区划之下" in page
    assert Area.objects.get(code="310105001000").name == "华阳路街道"


def test_a_mixed_file_changes_nothing(client, town_admin, areas):
    client.force_login(town_admin)
    _post(client, "code,name,level\n310105001002,新居委会,village\n310105102950,越权,village\n")
    assert not Area.objects.filter(code__in=["310105001002", "310105102950"]).exists()


def test_a_town_admin_adds_and_renames_below_its_town_audited(client, town_admin, areas):
    client.force_login(town_admin)
    page = _post(
        client,
        "code,name,level\n310105001002,新华居委会,village\n310105001001,安顺路居委会,village\n",
        "gb18030",
    ).content.decode()
    assert "新增 1 个，更新 1 个" in page
    created = AuditEntry.objects.get(action="core.area.create")
    assert (created.object_id, created.area_code, created.actor_id) == (
        "310105001002",
        "310105001002",
        town_admin.pk,
    )
    renamed = AuditEntry.objects.get(action="core.area.rename")
    assert renamed.object_id == "310105001001"
    assert renamed.changed_fields == ["name"]
    assert "安顺居委会" in renamed.reason
    whole = AuditEntry.objects.get(action="core.areas.import")
    assert whole.area_code == "310105001000"


def test_the_district_admin_sees_the_area_changes_in_its_audit_log(
    client, town_admin, district_admin, areas
):
    client.force_login(town_admin)
    _post(client, "code,name,level\n310105001002,新华居委会,village\n")
    client.force_login(district_admin)
    page = client.get("/audit/?action=core.area").content.decode()
    assert "310105001002" in page


def test_a_sysadmin_may_change_any_area_audited(client, sysadmin, areas):
    client.force_login(sysadmin)
    page = _post(client, "code,name,level\n310105102000,新泾镇（新）,town\n").content.decode()
    assert "更新 1 个" in page
    assert Area.objects.get(code="310105102000").name == "新泾镇（新）"
    entry = AuditEntry.objects.get(action="core.area.rename")
    assert entry.actor_id == sysadmin.pk and entry.area_code == "310105102000"


def test_it_reads_utf16_and_tab_separated_area_files(client, sysadmin, areas):
    client.force_login(sysadmin)
    text = "code\tname\tlevel\r\n310105001002\t新华居委会\tvillage\r\n"
    page = _post(client, "\ufeff" + text, "utf-16-le").content.decode()
    assert "新增 1 个" in page
    assert Area.objects.get(code="310105001002").name == "新华居委会"


def test_it_refuses_an_oversized_area_file(client, sysadmin, areas, settings):
    settings.MAX_UPLOAD_MB = 1
    client.force_login(sysadmin)
    text = "code,name,level\n" + "310105001002,新华居委会,village\n" * 40_000
    page = _post(client, text).content.decode()
    assert "文件过大" in page and "上限为 1 MB" in page
    assert not Area.objects.filter(code="310105001002").exists()
