from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from xinan.crisis.models import CallRisk, CallTopic, ContactOutcome, Disposition, Level


class ContactForm(forms.Form):
    outcome = forms.ChoiceField(label=_("联系结果"), choices=ContactOutcome.choices)
    note = forms.CharField(
        label=_("说明"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class RiskForm(forms.Form):
    level = forms.ChoiceField(label=_("评估风险级别"), choices=Level.choices)
    note = forms.CharField(
        label=_("评估要点"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class DispositionForm(forms.Form):
    disposition = forms.ChoiceField(label=_("处置结果"), choices=Disposition.choices)
    note = forms.CharField(
        label=_("说明"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class CloseForm(forms.Form):
    reason = forms.CharField(label=_("关闭理由"), widget=forms.Textarea(attrs={"rows": 2}))


class ManualAlertForm(forms.Form):
    level = forms.ChoiceField(label=_("预警级别"), choices=Level.choices)
    reason = forms.CharField(label=_("发现的风险"), widget=forms.Textarea(attrs={"rows": 3}))


class ShiftForm(forms.Form):
    user = forms.ChoiceField(label=_("值班人员"))
    area = forms.ChoiceField(label=_("负责区域"))
    starts_at = forms.DateTimeField(
        label=_("开始时间"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    ends_at = forms.DateTimeField(
        label=_("结束时间"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )

    def __init__(self, *args, users=(), areas=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].choices = [(u.pk, str(u)) for u in users]
        self.fields["area"].choices = [(a.code, f"{a.name}（{a.code}）") for a in areas]


class CallForm(forms.Form):
    received_at = forms.DateTimeField(
        label=_("来电时间"),
        initial=lambda: timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )
    wait_seconds = forms.IntegerField(label=_("应答等待（秒）"), min_value=0, initial=0)
    duration_seconds = forms.IntegerField(label=_("通话时长（秒）"), min_value=0, initial=0)
    topic = forms.ChoiceField(label=_("主题"), choices=CallTopic.choices)
    risk = forms.ChoiceField(label=_("风险等级"), choices=CallRisk.choices)
    person_id = forms.IntegerField(label=_("居民档案编号（可选）"), required=False)
    area_code = forms.CharField(
        label=_("来电所在区划代码（匿名时可选）"), required=False, max_length=15
    )
    phone = forms.CharField(label=_("来电号码（可选）"), required=False, max_length=20)
    notes = forms.CharField(
        label=_("咨询员记录"), required=False, widget=forms.Textarea(attrs={"rows": 4})
    )


class CallbackRequestForm(forms.Form):
    phone = forms.CharField(
        label=_("您的电话"), max_length=20, widget=forms.TextInput(attrs={"type": "tel"})
    )
    note = forms.CharField(
        label=_("想对我们说的话（可选）"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    area_code = forms.CharField(required=False, max_length=15, widget=forms.HiddenInput)


class CallbackDoneForm(forms.Form):
    outcome = forms.ChoiceField(label=_("回电结果"), choices=ContactOutcome.choices)
