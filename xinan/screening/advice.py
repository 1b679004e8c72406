"""What a result means and what to do next, in plain Chinese, by how serious the band is.

Bands are named by each instrument file; the words below depend only on the severity they
suggest, so a new instrument gets sensible advice without new code.
"""

from django.utils.translation import gettext_lazy as _

LEVELS = {
    "none": {
        "explain": _("您近期的状态总体平稳，没有明显的情绪困扰信号。"),
        "steps": [
            _("保持规律作息、适度运动和与亲友的交流。"),
            _("如果状态有变化，可以过一段时间再做一次自测。"),
        ],
    },
    "mild": {
        "explain": _("您近期可能有一些轻度的困扰，这很常见，多数人通过调整可以缓解。"),
        "steps": [
            _("留意睡眠、饮食和情绪的变化，给自己安排放松的时间。"),
            _("可以和信任的人聊一聊，或阅读心理科普。"),
            _("两周后再做一次自测；如果加重，请联系专业人员。"),
        ],
    },
    "moderate": {
        "explain": _("您近期的困扰已经比较明显，可能影响到生活、学习或工作。"),
        "steps": [
            _("建议尽快与心理咨询师或社区卫生服务中心的医生谈一谈。"),
            _("可以拨打下方的心理援助热线，获得专业建议。"),
            _("身边的服务点可以提供面对面的帮助。"),
        ],
    },
    "severe": {
        "explain": _(
            "您近期的困扰比较严重，需要专业人员的帮助。这不是您的错，寻求帮助是重要的一步。"
        ),
        "steps": [
            _("请尽快到精神卫生中心或综合医院的精神（心理）科就诊。"),
            _("现在就可以拨打下方的心理援助热线，与专业人员交谈。"),
            _("请告诉一位您信任的家人或朋友，让他们陪伴您。"),
        ],
    },
}


def level_of(band: str, positive: bool) -> str:
    b = (band or "").lower()
    if "severe" in b or "high" in b or "重" in b:
        return "severe"
    if "moderate" in b or "中" in b:
        return "moderate"
    if "mild" in b or "轻" in b or "subthreshold" in b:
        return "moderate" if positive else "mild"
    if positive:
        return "moderate"
    return "none"


CRISIS = {
    "explain": _("您的回答中有一题提示您最近可能有伤害自己的想法，这比总分更重要。"),
    "steps": [
        _("现在就拨打上方的心理援助热线，24小时有专业人员接听。"),
        _("如果您觉得自己马上会有危险，请拨打 110 或 120，或到最近的医院急诊。"),
        _("请让一位信任的家人或朋友现在陪在您身边。"),
        _("尽快到精神卫生中心或综合医院的精神（心理）科就诊。"),
    ],
}


def for_result(assessment) -> dict:
    """The advice for a result; a critical answer comes first whatever the total's band."""
    if getattr(assessment, "critical", None):
        return {"level": "severe", **CRISIS}
    level = level_of(assessment.band, assessment.positive)
    return {"level": level, **LEVELS[level]}
