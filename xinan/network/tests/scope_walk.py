"""network's part of the walk-every-URL test (xinan/testing/scope_walk.py): a service site, a
professional with a certificate, a course with a session and a register import of the other
district. Sites are public (the finder and a site's page are for anyone); managing them is
for the area admins above them."""

import datetime as dt
import io

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from openpyxl import Workbook

from xinan.network import trainings
from xinan.network.models import (
    Certificate,
    Course,
    Enrolment,
    NetworkImport,
    Professional,
    ServiceSite,
    Team,
    TrainingSession,
)
from xinan.testing import factories
from xinan.testing.scope_walk import Hidden, Page, World


def build(world: World) -> None:
    site = factories.service_site(world.village, "永嘉心理咨询室", site_type="village_room")
    world.add("site", site)
    p = Professional.objects.create(
        name="徐汇咨询师钱七", kind="counsellor", area=world.town, phone="021-64000001"
    )
    Certificate.objects.create(professional=p, name="心理咨询师", number="XH-CERT-1", issuer="徐汇")
    world.add("professional", p)
    course = Course.objects.create(title="徐汇培训XH", topic="心理", area=world.district)
    world.add("course", course)
    team = Team.objects.create(name="徐汇危机干预队XH", kind="crisis", area=world.district)
    team.members.add(p)
    world.add("team", team)
    world.watch("its team's members", Team.members.through.objects.filter(team=team))
    now = timezone.now()
    session = TrainingSession.objects.create(
        course=course,
        topic="危机识别",
        trainer="徐汇讲师",
        starts_at=now,
        ends_at=now + dt.timedelta(hours=2),
        hours=2,
        site=site,
    )
    world.add("session", session)
    world.add(
        "network_import",
        NetworkImport.objects.create(
            kind="sites",
            file_name="徐汇名册XH.xlsx",
            created_by=world.admin,
            rejected_path="/nonexistent",
            report=[{"line": 2, "message": "徐汇导入XH"}],
        ),
    )
    world.secret(
        "徐汇咨询师钱七",
        "021-64000001",
        "XH-CERT-1",
        "徐汇培训XH",
        "徐汇名册XH.xlsx",
        "徐汇危机干预队XH",
    )
    world.watch("sites there", ServiceSite.objects.filter(area__code__startswith="310104"))
    world.watch("teams there", Team.objects.filter(area__code__startswith="310104"))
    world.watch("professionals there", Professional.objects.filter(area__code__startswith="310104"))
    world.watch("certificates there", Certificate.objects.filter(professional=p))
    world.watch("attendance there", Enrolment.objects.filter(session=session))


def _register(w: World) -> dict:
    wb = Workbook()
    wb.active.append(
        ["名称", "类型", "区划代码", "地址", "电话", "开放时间", "服务项目", "纬度", "经度"]
    )
    wb.active.append(
        ["永嘉心理咨询室", "心理驿站", w.village.code, "越权", "", "周一 9:00-10:00", "", "", ""]
    )
    buf = io.BytesIO()
    wb.save(buf)
    return {"kind": "sites", "file": SimpleUploadedFile("sites.xlsx", buf.getvalue())}


def _site_form(w: World) -> dict:
    return {
        "name": "越权驿站",
        "site_type": "station",
        "area": w.village.code,
        "hours": "周一 9:00-10:00",
        "service_list": ["counselling"],
        "active": "on",
    }


def _professional_form(w: World) -> dict:
    return {"name": "越权人员", "kind": "volunteer", "area": w.town.code, "languages": "普通话"}


def _site(w):
    return {"pk": w.site.pk}


def _pro(w):
    return {"pk": w.professional.pk}


URLS = {
    "network:finder": Page(data=lambda w: {"area": "310104", "open_now": "on"}),
    "network:site_detail": Page(_site),  # public: a site's page is for anyone
    "network:site_photo": Page(_site),
    "network:site_list": Page(data=lambda w: {"q": "永嘉"}),
    "network:site_create": Page(data=_site_form),
    "network:site_edit": Hidden(_site, data=_site_form),
    "network:site_closure": Hidden(_site, data=lambda w: {"date": "2027-01-01"}),
    "network:coverage": Page(),
    "network:professionals": Page(data=lambda w: {"q": "钱七"}),
    "network:professional_create": Page(data=_professional_form),
    "network:professional": Hidden(_pro),
    "network:professional_edit": Hidden(_pro, data=_professional_form),
    "network:certificate_add": Hidden(
        _pro, data=lambda w: {"name": "越权证书", "number": "X9", "issuer": "越权"}
    ),
    "network:teams": Page(
        data=lambda w: {"name": "越权队伍", "kind": "crisis", "area": w.district.code}
    ),
    "network:team_member": Hidden(
        lambda w: {"pk": w.team.pk},
        data=lambda w: {"professional": w.professional.pk, "remove": "1"},
    ),
    "network:trainings": Page(),
    "network:course": Hidden(
        lambda w: {"pk": w.course.pk},
        data=lambda w: {"topic": "越权", "trainer": "越权", "hours": "1"},
    ),
    "network:session": Hidden(
        lambda w: {"pk": w.session.pk}, data=lambda w: {"professional": w.professional.pk}
    ),
    # a bearer link: anyone holding it may open it; no walker is in the talent database
    "network:checkin": Page(lambda w: {"token": trainings.checkin_token(w.session)}),
    "network:import": Page(data=_register),
    "network:import_job": Hidden(lambda w: {"pk": w.network_import.pk}),
    "network:import_rejected": Hidden(lambda w: {"pk": w.network_import.pk}),
    "network:import_template": Page(lambda w: {"kind": "sites"}),
}
