from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SmdConfig(AppConfig):
    name = "xinan.smd"
    label = "smd"
    verbose_name = _("严重精神障碍")

    def ready(self) -> None:
        from xinan.core import audit, navigation

        flag_roles = {"grid_worker", "zongzhi", "police", "civil_affairs", "disability_liaison"}
        navigation.register(
            _("精防随访"), "smd:worklist", roles={"doctor", "psychiatrist", *flag_roles}, order=40
        )
        navigation.register(
            _("精防指标"),
            "smd:indicators",
            roles={"doctor", "psychiatrist", "area_admin"},
            order=80,
        )
        for code, label in [
            ("smd.patient.register", _("登记严重精神障碍患者")),
            ("smd.patient.update", _("修改患者补充信息")),
            ("smd.patient.view", _("查看严重精神障碍患者档案")),
            ("smd.patient.list", _("查看患者名单")),
            ("smd.patient.flag_list", _("查看辖区患者风险标记")),
            ("smd.patient.transfer", _("患者迁居转移")),
            ("smd.report.create", _("填报发病报告")),
            ("smd.report.list", _("查看发病报告")),
            ("smd.follow_up.record", _("录入随访")),
            ("smd.follow_up.view", _("查看随访记录")),
            ("smd.follow_up.override", _("调整随访分类")),
            ("smd.exam.record", _("登记年度体检")),
            ("smd.exam.update", _("修改年度体检")),
            ("smd.emergency.record", _("登记应急处置")),
            ("smd.emergency.complete", _("完成应急处置记录单")),
            ("smd.indicators.view", _("查看精防管理指标")),
            ("smd.indicators.export", _("导出精防管理指标")),
        ]:
            audit.register_action(code, label)
