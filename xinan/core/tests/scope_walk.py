"""core's part of the walk-every-URL test (xinan/testing/scope_walk.py): the other district
徐汇区 (310104) with its staff, and core's pages, the admin and Django's language switch."""

from django.core.files.uploadedfile import SimpleUploadedFile

from xinan.core import audit
from xinan.core.models import Area, AreaLevel
from xinan.testing import factories
from xinan.testing.scope_walk import Admin, Hidden, Page, Skip, World

DISTRICT = "310104"


def build(world: World) -> None:
    tree = factories.area_tree()
    district = factories.area("310104000000", "徐汇区", AreaLevel.DISTRICT, tree["city"])
    town = factories.area("310104003000", "天平路街道", AreaLevel.TOWN, district)
    village = factories.area("310104003001", "永嘉居委会", AreaLevel.VILLAGE, town)
    grid = factories.area("310104003001001", "永嘉居委会第1网格", AreaLevel.GRID, village)
    for name, obj in [("district", district), ("town", town), ("village", village)]:
        world.add(name, obj)
    world.add("grid", grid)
    world.watch("areas of the other district", Area.objects.filter(code__startswith=DISTRICT))
    world.add("institution", factories.institution(village, name="永嘉社区卫生服务中心"))
    world.add("staff", factories.staff("grid_worker", area=grid, username="xh_grid_worker"))
    world.add("admin", factories.staff("area_admin", area=district, username="xh_admin"))
    world.add("crisis_worker", factories.staff("crisis_worker", area=town, username="xh_crisis"))
    # the audit log of the other district: its own admins' and the sysadmins' to read
    audit.record(
        "core.walk.world", district, actor=world.admin, area_code=district.code, reason="徐汇审计XH"
    )
    world.secret("徐汇审计XH", seen_by=("sysadmin",))


def _area_file(world: World) -> dict:
    text = (
        "code,name,level\n"
        "310104003950,越权新增村,village\n"  # a village in the other district
        f"{world.town.code},越权改名,town\n"  # renaming its town
    )
    return {"file": SimpleUploadedFile("areas.csv", text.encode())}


URLS = {
    "home": Page(),
    "healthz": Page(),
    "resident_home": Page(),
    "workbench": Page(),
    "audit_log": Page(data=lambda w: {"action": "core"}),
    "audit_export": Page(),
    "break_glass_reviews": Page(),
    "break_glass_review": Hidden(
        lambda w: {"pk": w.grant.pk}, data=lambda w: {"outcome": "justified", "note": "越权"}
    ),
    "access_grant_revoke": Hidden(
        lambda w: {"pk": w.grant.pk}, data=lambda w: {"reason": "越权撤销该授权"}
    ),
    # a sysadmin may change any area (audited); everyone else must leave the other district alone
    "area_import": Page(data=_area_file, may_change={"sysadmin"}),
    "jobs": Page(),
    "set_language": Page(data=lambda w: {"language": "zh-hans", "next": "/"}),
    "admin:login": Page(),
    "admin:logout": Page(),
    "admin:*": Admin(),
    "<unnamed admin/*": Skip("the admin's redirects from <id>/ to the change page, walked there"),
}
