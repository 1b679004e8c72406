"""Excel/CSV import of existing registers: service sites, professionals, training attendance.

The same shape as screening's import (xinan/screening/importer.py), whose helpers it uses: the
table is read by core.lib.uploads, each row is validated and either applied (in a savepoint of
its own, so a bad row leaves nothing half-saved) or written with its reason to the
rejected-rows file (neutralised CSV, encrypted at rest by screening.files); the page shows the
first errors. Re-uploading a file changes nothing already imported: sites are keyed by area and
name, professionals by certificate (issuer, number) or by area, name and category, attendance
by session and professional. Registers are small (hundreds to a few thousand rows), so a file
is processed in the request.
"""

import datetime as dt
import io
from decimal import InvalidOperation
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from xinan.core import audit, scope
from xinan.core.lib import spreadsheet, uploads
from xinan.core.models import Area
from xinan.network import services, talent, trainings
from xinan.network.models import (
    Certificate,
    ImportKind,
    NetworkImport,
    Professional,
    ProfessionalKind,
    Service,
    ServiceSite,
    SiteType,
    TrainingSession,
    codes_text,
)
from xinan.screening.files import write_encrypted
from xinan.screening.importer import REPORT_LIMIT, parse_date

MAX_ROWS = 20_000

HEADERS = {
    ImportKind.SITES: [
        "名称",
        "类型",
        "区划代码",
        "地址",
        "电话",
        "开放时间",
        "服务项目",
        "纬度",
        "经度",
    ],
    ImportKind.PROFESSIONALS: [
        "姓名",
        "类别",
        "区划代码",
        "工作电话",
        "擅长领域",
        "语言",
        "证书名称",
        "证书编号",
        "发证机构",
        "有效期至",
    ],
    ImportKind.ATTENDANCE: ["培训场次编号", "姓名", "区划代码", "签到时间"],
}


class RowError(Exception):
    pass


def _choice(value: str, choices, what: str) -> str:
    value = value.strip()
    for code, label in choices:
        if value in (code, str(label)):
            return code
    raise RowError(_("%(what)s“%(value)s”无效") % {"what": what, "value": value})


def _area(code: str, prefixes: list[str]) -> Area:
    code = code.strip()
    if not code:
        raise RowError(_("区划代码不能为空（每个服务点和人员都必须属于一个区划）"))
    area = Area.objects.filter(code=code).first()
    if area is None:
        raise RowError(_("区划代码“%(code)s”不存在") % {"code": code})
    if not any(code.startswith(p) for p in prefixes):
        raise RowError(_("区划“%(name)s”不在您的管理范围内") % {"name": area.name})
    return area


def _float(text: str, what: str) -> float | None:
    if not text.strip():
        return None
    try:
        return float(text)
    except ValueError:
        raise RowError(_("%(what)s应为数字") % {"what": what}) from None


def template_xlsx(kind: str) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = str(ImportKind(kind).label)
    ws.append(HEADERS[kind])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


# ---------------------------------------------------------------- one row of each kind


def _site_row(cells: dict, actor, prefixes) -> str:
    area = _area(cells["区划代码"], prefixes)
    name = cells["名称"].strip()
    if not name:
        raise RowError(_("名称不能为空"))
    site_type = _choice(cells["类型"], SiteType.choices, _("类型"))
    wanted = [
        _choice(s, Service.choices, _("服务项目"))
        for s in cells["服务项目"].replace("，", "、").replace(",", "、").split("、")
        if s.strip()
    ]
    values = {
        "site_type": site_type,
        "address": cells["地址"].strip(),
        "phone": cells["电话"].strip(),
        "lat": _float(cells["纬度"], _("纬度")),
        "lon": _float(cells["经度"], _("经度")),
        "services": codes_text(wanted),
    }
    hours = cells["开放时间"].strip()
    try:
        rows = services.parse_hours(hours)
    except services.NetworkError as exc:
        raise RowError(exc.message) from None
    site = ServiceSite.objects.filter(area=area, name=name).first()
    if site is not None:
        same_hours = sorted((h.weekday, h.opens, h.closes) for h in site.hours.all()) == sorted(
            rows
        )
        if same_hours and all(getattr(site, k) == v for k, v in values.items()):
            return "unchanged"
    outcome = "created" if site is None else "updated"
    site = site or ServiceSite(area=area, name=name)
    for k, v in values.items():
        setattr(site, k, v)
    try:
        services.save_site(site, actor=actor, hours=hours)
    except services.NetworkError as exc:
        raise RowError(exc.message) from None
    return outcome


def _professional_row(cells: dict, actor, prefixes) -> str:
    area = _area(cells["区划代码"], prefixes)
    name = cells["姓名"].strip()
    if not name:
        raise RowError(_("姓名不能为空"))
    kind = _choice(cells["类别"], ProfessionalKind.choices, _("类别"))
    number, issuer = cells["证书编号"].strip(), cells["发证机构"].strip()
    expires = None
    if cells["有效期至"].strip():
        expires = parse_date(cells["有效期至"])
        if expires is None:
            raise RowError(_("有效期至应为日期，例如 2027-06-30"))
    cert = (
        Certificate.objects.filter(issuer=issuer, number=number).select_related("professional")
        if number
        else None
    )
    existing = cert.first().professional if cert and cert.exists() else None
    if existing is None:
        existing = Professional.objects.filter(area=area, name=name, kind=kind).first()
    values = {
        "kind": kind,
        "area": area,
        "phone": cells["工作电话"].strip(),
        "specialties": cells["擅长领域"].strip(),
        "languages": cells["语言"].strip() or "普通话",
    }
    has_cert = bool(number) and cert is not None and cert.exists()
    if (
        existing
        and all(getattr(existing, k) == v for k, v in values.items())
        and (has_cert or not number)
    ):
        return "unchanged"
    outcome = "created" if existing is None else "updated"
    p = existing or Professional(name=name)
    for k, v in values.items():
        setattr(p, k, v)
    try:
        talent.save_professional(p, actor=actor)
        if number and not has_cert:
            talent.add_certificate(
                p,
                actor=actor,
                name=cells["证书名称"].strip() or _("资质证书"),
                number=number,
                issuer=issuer or _("未注明"),
                expires_on=expires,
            )
    except services.NetworkError as exc:
        raise RowError(exc.message) from None
    return outcome


def _attendance_row(cells: dict, actor, prefixes) -> str:
    try:
        session = TrainingSession.objects.select_related("course").get(
            pk=int(cells["培训场次编号"])
        )
    except (ValueError, TrainingSession.DoesNotExist):
        raise RowError(_("培训场次编号“%(v)s”不存在") % {"v": cells["培训场次编号"]}) from None
    area = _area(cells["区划代码"], prefixes)
    matches = list(Professional.objects.filter(name=cells["姓名"].strip(), area=area)[:2])
    if len(matches) != 1:
        message = (
            _("在该区划的人才库中找不到“%(name)s”，请先导入人员")
            if not matches
            else _("该区划有多位“%(name)s”，请在页面上逐一签到")
        )
        raise RowError(message % {"name": cells["姓名"].strip()})
    professional = matches[0]
    when = cells["签到时间"].strip()
    attended_at = session.starts_at
    if when:
        day = parse_date(when[:10])
        if day is None:
            raise RowError(_("签到时间应为日期时间，例如 2026-11-20 13:30"))
        clock = when[11:16] or "00:00"
        try:
            attended_at = timezone.make_aware(
                dt.datetime.combine(day, dt.time.fromisoformat(clock))
            )
        except ValueError:
            raise RowError(_("签到时间应为日期时间，例如 2026-11-20 13:30")) from None
    if session.enrolments.filter(professional=professional, attended_at__isnull=False).exists():
        return "unchanged"
    trainings.check_in(session, professional, actor=actor, method="import", now=attended_at)
    return "created"


ROW_HANDLERS = {
    ImportKind.SITES: _site_row,
    ImportKind.PROFESSIONALS: _professional_row,
    ImportKind.ATTENDANCE: _attendance_row,
}


# ---------------------------------------------------------------- a file


def import_file(upload, *, kind: str, actor) -> NetworkImport:
    """Validate and apply every row of `upload`; bad rows go to the rejected-rows file."""
    prefixes = scope.admin_prefixes(actor)
    problem = uploads.upload_problem(upload, kinds=("xlsx", "csv"))
    if problem:
        raise services.NetworkError(problem, "file")
    directory = Path(settings.MEDIA_ROOT) / "network" / "imports"
    directory.mkdir(parents=True, exist_ok=True)
    suffix = ".xlsx" if upload.name.lower().endswith(".xlsx") else ".csv"
    job = NetworkImport.objects.create(kind=kind, file_name=upload.name[:255], created_by=actor)
    path = directory / f"{job.pk}{suffix}"
    with path.open("wb") as f:
        for chunk in upload.chunks():
            f.write(chunk)
    try:
        rows = uploads.table_rows(path)
        head = next(rows, None)
    except uploads.UnreadableFile as exc:
        path.unlink(missing_ok=True)
        job.delete()
        raise services.NetworkError(exc.message, "file") from None
    expected = HEADERS[kind]
    out = io.StringIO(newline="")
    writer = spreadsheet.SafeWriter(out)
    writer.writerow([*expected, _("错误原因")])
    counts = {"created": 0, "updated": 0, "unchanged": 0, "rejected": 0}
    report: list[dict] = []

    def reject(line, row, message):
        counts["rejected"] += 1
        writer.writerow([*row, message])
        if len(report) < REPORT_LIMIT:
            report.append({"line": line, "message": message})

    if head is None or [h.strip() for h in head[: len(expected)]] != expected:
        reject(
            1,
            head or [],
            _("表头与模板不一致，请下载“%(kind)s”的导入模板") % {"kind": ImportKind(kind).label},
        )
    else:
        handler = ROW_HANDLERS[kind]
        for line, row in enumerate(rows, start=2):
            if line > MAX_ROWS + 1:
                reject(line, row, _("超过%(n)d行，请分文件上传") % {"n": MAX_ROWS})
                break
            if not any(c.strip() for c in row):
                continue
            cells = dict(zip(expected, [*row, *[""] * len(expected)], strict=False))
            try:
                with transaction.atomic():
                    counts[handler(cells, actor, prefixes)] += 1
            except RowError as exc:
                reject(line, row[: len(expected)], str(exc))
            except (InvalidOperation, ValueError) as exc:
                reject(line, row[: len(expected)], _("数据格式不对：%(e)s") % {"e": exc})
    path.unlink(missing_ok=True)  # the register's rows now live in the tables
    if counts["rejected"]:
        job.rejected_path = str(
            write_encrypted(directory / f"{job.pk}-rejected.csv", out.getvalue())
        )
    job.rows_created, job.rows_updated = counts["created"], counts["updated"]
    job.rows_unchanged, job.rows_rejected = counts["unchanged"], counts["rejected"]
    job.report = report
    job.save()
    audit.record(
        "network.import",
        job,
        actor=actor,
        area_code=prefixes[0] if prefixes else "",
        changed_fields=[kind],
        reason=_("新增%(c)d，更新%(u)d，未通过%(r)d")
        % {"c": counts["created"], "u": counts["updated"], "r": counts["rejected"]},
    )
    return job


def read_rejected(job: NetworkImport) -> bytes:
    from xinan.core.lib import crypto

    return crypto.cipher().decrypt(Path(job.rejected_path).read_bytes())
