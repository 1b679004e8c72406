"""The choices of the registry's forms, coded as on the national paper forms (基本公卫第三版
随访服务记录表, 个人信息补充表, 应急处置记录单) so an export reads like the paper; docs/smd.md
gives each field's source."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Disorder(models.TextChoices):
    """The six disorders of the 2018 规范 (服务对象); ICD-10 chapter codes per docs/smd.md."""

    SCHIZOPHRENIA = "F20", _("精神分裂症")
    SCHIZOAFFECTIVE = "F25", _("分裂情感性障碍")
    DELUSIONAL = "F22", _("偏执性精神病（持久的妄想性障碍）")
    BIPOLAR = "F31", _("双相（情感）障碍")
    EPILEPSY = "F06", _("癫痫所致精神障碍")
    INTELLECTUAL = "F7x", _("精神发育迟滞伴发精神障碍")


# The ICD-10 codes each disorder accepts (a diagnosis code must start with one of them).
DISORDER_ICD_PREFIXES = {
    Disorder.SCHIZOPHRENIA: ("F20",),
    Disorder.SCHIZOAFFECTIVE: ("F25",),
    Disorder.DELUSIONAL: ("F22",),
    Disorder.BIPOLAR: ("F31",),
    Disorder.EPILEPSY: ("F06", "G40"),
    Disorder.INTELLECTUAL: tuple(f"F7{n}" for n in range(10)),
}


class PatientStatus(models.TextChoices):
    ACTIVE = "active", _("在册")
    DECEASED = "deceased", _("死亡")
    EXCLUDED = "excluded", _("排除诊断/销户")


class Household(models.TextChoices):
    URBAN = "urban", _("城镇")
    RURAL = "rural", _("农村")


class Employment(models.TextChoices):
    WORKER = "1", _("在岗工人")
    MANAGER = "2", _("在岗管理者")
    FARMER = "3", _("农民")
    UNEMPLOYED = "4", _("下岗或无业")
    STUDENT = "5", _("在校学生")
    RETIRED = "6", _("退休")
    PROFESSIONAL = "7", _("专业技术人员")
    OTHER = "8", _("其他")
    UNKNOWN = "9", _("不详")


class Economic(models.TextChoices):
    POOR = "poor", _("贫困（在当地贫困线标准以下）")
    NOT_POOR = "not_poor", _("非贫困")
    UNKNOWN = "unknown", _("不详")


class Locking(models.TextChoices):
    NONE = "1", _("无关锁")
    LOCKED = "2", _("关锁")
    RELEASED = "3", _("关锁已解除")


class OutpatientHistory(models.TextChoices):
    NEVER = "1", _("未治")
    INTERMITTENT = "2", _("间断门诊治疗")
    CONTINUOUS = "3", _("连续门诊治疗")


class Symptom(models.TextChoices):
    HALLUCINATION = "1", _("幻觉")
    COMMUNICATION = "2", _("交流困难")
    SUSPICION = "3", _("猜疑")
    MOODY = "4", _("喜怒无常")
    ODD = "5", _("行为怪异")
    EXCITED = "6", _("兴奋话多")
    VIOLENT = "7", _("伤人毁物")
    PESSIMISTIC = "8", _("悲观厌世")
    WANDERING = "9", _("无故外走")
    SELF_TALK = "10", _("自语自笑")
    WITHDRAWN = "11", _("孤僻懒散")
    OTHER = "12", _("其他")


class ReportStatus(models.TextChoices):
    PENDING = "pending", _("待建档")
    REGISTERED = "registered", _("已建档")
    REJECTED = "rejected", _("退回")


class Mode(models.TextChoices):
    OUTPATIENT = "outpatient", _("门诊")
    HOME = "home", _("家庭访视")
    PHONE = "phone", _("电话")


FACE_TO_FACE = {Mode.OUTPATIENT, Mode.HOME}


class NotReached(models.TextChoices):
    MIGRANT_WORK = "1", _("外出打工")
    MOVED = "2", _("迁居他处")
    MISSING = "3", _("走失")
    THREE_MISSES = "4", _("连续3次未访到")
    OTHER = "5", _("其他")


class DeathCause(models.TextChoices):
    INFECTIOUS = "b1", _("躯体疾病：传染病和寄生虫病")
    TUMOUR = "b2", _("躯体疾病：肿瘤")
    HEART = "b3", _("躯体疾病：心脏病")
    CEREBROVASCULAR = "b4", _("躯体疾病：脑血管病")
    RESPIRATORY = "b5", _("躯体疾病：呼吸系统疾病")
    DIGESTIVE = "b6", _("躯体疾病：消化系统疾病")
    OTHER_DISEASE = "b7", _("躯体疾病：其他疾病")
    UNKNOWN_DISEASE = "b9", _("躯体疾病：不详")
    SUICIDE = "o2", _("其他原因：自杀")
    HOMICIDE = "o3", _("其他原因：他杀")
    ACCIDENT = "o4", _("其他原因：意外")
    COMPLICATION = "o5", _("其他原因：精神疾病相关并发症")
    OTHER = "o6", _("其他原因：其他")


class Level3(models.TextChoices):
    GOOD = "1", _("良好")
    FAIR = "2", _("一般")
    POOR = "3", _("较差")


class Insight(models.TextChoices):
    FULL = "1", _("自知力完全")
    PARTIAL = "2", _("自知力不全")
    ABSENT = "3", _("自知力缺失")


class Psychotic(models.TextChoices):
    """The spec's judgement of mental symptoms, on which the classification turns."""

    GONE = "1", _("精神症状基本消失")
    PARTIAL = "2", _("精神症状仍存在（较差）")
    MARKED = "3", _("精神病性症状明显")


class Severity(models.TextChoices):
    NONE = "0", _("无")
    MILD = "1", _("有，不严重")
    SEVERE = "2", _("有，急性或严重")


class Hospitalisation(models.TextChoices):
    NEVER = "0", _("未住院")
    NOW = "1", _("目前正在住院")
    BEFORE = "2", _("曾住院，现未住院")


class Adherence(models.TextChoices):
    REGULAR = "1", _("按医嘱规律服药")
    INTERMITTENT = "2", _("间断服药")
    NONE = "3", _("不服药")
    NOT_NEEDED = "4", _("医嘱勿需服药")


class Effect(models.TextChoices):
    CURED = "1", _("痊愈")
    BETTER = "2", _("好转")
    SAME = "3", _("无变化")
    WORSE = "4", _("加重")


class Rehab(models.TextChoices):
    DAILY_LIVING = "1", _("生活劳动能力")
    VOCATIONAL = "2", _("职业训练")
    LEARNING = "3", _("学习能力")
    SOCIAL = "4", _("社会交往")
    OTHER = "5", _("其他")


class Classification(models.TextChoices):
    UNSTABLE = "unstable", _("病情不稳定")
    BASIC = "basic", _("病情基本稳定")
    STABLE = "stable", _("病情稳定")
    NOT_REACHED = "not_reached", _("未访到")


# The spec's exact definitions of 危险性评估, shown beside the choice (docs/smd.md §risk).
RISK_DEFINITIONS = {
    0: _("0级：无符合以下1～5级中的任何行为"),
    1: _("1级：口头威胁，喊叫，但没有打砸行为"),
    2: _("2级：打砸行为，局限在家里，针对财物，能被劝说制止"),
    3: _("3级：明显打砸行为，不分场合，针对财物，不能接受劝说而停止"),
    4: _("4级：持续的打砸行为，不分场合，针对财物或人，不能接受劝说而停止（包括自伤、自杀）"),
    5: _(
        "5级：持械/持管制性危险武器针对人的任何暴力行为，或者纵火、爆炸等行为，"
        "无论在家里还是公共场合"
    ),
}

DANGER_FIELDS = (
    "danger_minor",
    "danger_trouble",
    "danger_disaster",
    "danger_other",
    "danger_self_harm",
    "danger_suicide_attempt",
)
SOCIAL_FIELDS = ("social_self_care", "social_housework", "social_work", "social_learning",
                 "social_contact")  # fmt: skip


class Trigger(models.TextChoices):
    SELF_HARM = "self_harm", _("伤害自身的行为或危险")
    PUBLIC_SAFETY = "public_safety", _("危害公共安全或他人安全的行为或危险")
    RELAPSE = "relapse", _("病情复发、精神状况明显恶化")
    ADVERSE = "adverse", _("急性或严重药物不良反应（含药物过量中毒）")


class Involved(models.TextChoices):
    POLICE = "police", _("公安（派出所）")
    EMS = "120", _("120急救")
    FAMILY = "family", _("家属/监护人")
    VILLAGE = "village", _("村（居）委会")
    DOCTOR = "doctor", _("精防医生")
    PSYCHIATRIST = "psychiatrist", _("精神科医师")


class Disposal(models.TextChoices):
    ONSITE = "onsite", _("现场临时处置")
    OBSERVATION = "observation", _("精神科门诊留观")
    ADMISSION = "admission", _("精神专科医院住院治疗")
    REFERRAL = "referral", _("双向转诊")
