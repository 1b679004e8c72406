"""HTML input for the loop's pages; the rules themselves are in services."""

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from xinan.cases.models import (
    MADE_BY_THEIR_OWN_PATH,
    CloseReason,
    Direction,
    FollowUpMode,
    InterventionKind,
    Outcome,
    ServiceLine,
    Stage,
    TaskKind,
    Urgency,
)
from xinan.core.models import Institution

EMPTY = [("", _("请选择"))]


def _choices(enum, exclude=()) -> list:
    return EMPTY + [(v, label) for v, label in enum.choices if v not in exclude]


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)


class OpenCaseForm(forms.Form):
    line = forms.ChoiceField(label=_("服务条线"), choices=_choices(ServiceLine))
    note = forms.CharField(label=_("建档说明"), required=False, max_length=300)


class MoveForm(forms.Form):
    to = forms.ChoiceField(label=_("转入阶段"), choices=_choices(Stage))
    judgement = forms.CharField(
        label=_("鉴别意见"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    basis = forms.CharField(
        label=_("鉴别依据"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    reason = forms.ChoiceField(label=_("结案原因"), required=False, choices=_choices(CloseReason))
    outcome = forms.ChoiceField(label=_("结局"), required=False, choices=_choices(Outcome))
    note = forms.CharField(label=_("说明"), required=False, max_length=300)

    def __init__(self, *args, case=None, **kwargs):
        super().__init__(*args, **kwargs)
        if case is not None:
            # Offered: the stages this case may go to; accepted: any stage, so an impossible one
            # gets the service's message naming both stages.
            allowed = [s for s in Stage.values if case.can_move_to(s)]
            self.fields["to"].widget.choices = EMPTY + [(s, Stage(s).label) for s in allowed]


class AssignForm(forms.Form):
    to_user = forms.ChoiceField(label=_("新责任人"), choices=EMPTY)
    reason = forms.CharField(label=_("理由"), required=False, max_length=200)

    def __init__(self, *args, candidates=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to_user"].choices = EMPTY + [(u.pk, str(u)) for u in candidates]


class TaskForm(forms.Form):
    kind = forms.ChoiceField(label=_("类型"), choices=_choices(TaskKind, MADE_BY_THEIR_OWN_PATH))
    title = forms.CharField(label=_("事项"), max_length=200)
    due_at = forms.DateTimeField(label=_("截止时间"), widget=DateTimeInput())


class DoneForm(forms.Form):
    result = forms.CharField(label=_("结果"), required=False, max_length=300)


class InterventionForm(forms.Form):
    kind = forms.ChoiceField(label=_("干预方式"), choices=_choices(InterventionKind))
    started_at = forms.DateTimeField(label=_("开始时间"), widget=DateTimeInput())
    minutes = forms.IntegerField(label=_("时长（分钟）"), min_value=1, max_value=1440)
    site = forms.ModelChoiceField(
        label=_("服务地点"),
        required=False,
        queryset=Institution.objects.all(),
        empty_label=_("请选择（线上可不选）"),
    )
    online = forms.BooleanField(label=_("线上进行"), required=False)
    attendee_ids = forms.CharField(
        label=_("团体参加者档案编号"),
        required=False,
        help_text=_("团体辅导时填写，多个编号用逗号分隔"),
    )
    notes = forms.CharField(
        label=_("记录"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("initial", {"started_at": timezone.localtime().replace(second=0)})
        super().__init__(*args, **kwargs)

    def clean_attendee_ids(self) -> list[int]:
        raw = self.cleaned_data["attendee_ids"].replace("，", ",")
        try:
            return [int(x) for x in raw.split(",") if x.strip()]
        except ValueError:
            raise forms.ValidationError(_("请填写数字编号，用逗号分隔")) from None


class FollowUpForm(forms.Form):
    instrument = forms.ChoiceField(
        label=_("量表"),
        choices=EMPTY
        + [("phq9", "PHQ-9"), ("gad7", "GAD-7"), ("epds", "EPDS"), ("gds15", "GDS-15")],
    )
    due_at = forms.DateTimeField(label=_("复评时间"), widget=DateTimeInput())
    mode = forms.ChoiceField(label=_("方式"), choices=_choices(FollowUpMode))


class ReferralForm(forms.Form):
    direction = forms.ChoiceField(label=_("转介方向"), choices=_choices(Direction))
    to_institution = forms.ModelChoiceField(
        label=_("接收机构"), queryset=Institution.objects.all(), empty_label=_("请选择")
    )
    urgency = forms.ChoiceField(label=_("紧急程度"), choices=_choices(Urgency))
    reason = forms.CharField(label=_("转介原因"), widget=forms.Textarea(attrs={"rows": 2}))
    notes = forms.CharField(
        label=_("病情摘要"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    assessment_ids = forms.MultipleChoiceField(
        label=_("附带测评"), required=False, widget=forms.CheckboxSelectMultiple, choices=()
    )
    legal_basis = forms.CharField(
        label=_("法定依据"),
        required=False,
        max_length=300,
        help_text=_("居民未同意信息共享时必须填写，如《精神卫生法》相关条款"),
    )

    def __init__(self, *args, assessments=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assessment_ids"].choices = [
            (a.pk, f"{a.submitted_at:%Y-%m-%d} {a.instrument.upper()} {a.total:g}")
            for a in assessments
            if a.total is not None
        ]


class DeclineForm(forms.Form):
    reason = forms.CharField(label=_("拒收理由"), max_length=300)


class OutcomeForm(forms.Form):
    diagnosis_summary = forms.CharField(
        label=_("诊断摘要"), widget=forms.Textarea(attrs={"rows": 2})
    )
    treatment_plan = forms.CharField(label=_("治疗方案"), widget=forms.Textarea(attrs={"rows": 2}))
    recommended_follow_up = forms.CharField(
        label=_("社区随访建议"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


def _date_input():
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class FiguresForm(forms.Form):
    since = forms.DateField(label=_("起始日期"), required=False, widget=_date_input())
    until = forms.DateField(label=_("截止日期"), required=False, widget=_date_input())
