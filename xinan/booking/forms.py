from django import forms
from django.utils.translation import gettext_lazy as _

from xinan.booking.models import Availability, Mode
from xinan.network.models import WEEKDAYS, Service, ServiceSite


class AvailabilityForm(forms.ModelForm):
    weekday = forms.TypedChoiceField(
        label=_("星期"), coerce=int, choices=[(i, d) for i, d in enumerate(WEEKDAYS)]
    )

    class Meta:
        model = Availability
        fields = [
            "weekday",
            "start",
            "end",
            "mode",
            "site",
            "video_url",
            "slot_minutes",
            "buffer_minutes",
            "daily_limit",
            "valid_from",
            "valid_to",
        ]
        widgets = {
            "start": forms.TimeInput(attrs={"type": "time"}),
            "end": forms.TimeInput(attrs={"type": "time"}),
            "valid_from": forms.DateInput(attrs={"type": "date"}),
            "valid_to": forms.DateInput(attrs={"type": "date"}),
        }

    def __init__(self, *args, sites=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["site"].queryset = sites if sites is not None else ServiceSite.objects.none()
        self.fields["site"].empty_label = _("线上咨询不选站点")
        self.fields["mode"].choices = Mode.choices


class ExceptionForm(forms.Form):
    date = forms.DateField(label=_("日期"), widget=forms.DateInput(attrs={"type": "date"}))
    start = forms.TimeField(
        label=_("开始"), required=False, widget=forms.TimeInput(attrs={"type": "time"})
    )
    end = forms.TimeField(
        label=_("结束"), required=False, widget=forms.TimeInput(attrs={"type": "time"})
    )
    note = forms.CharField(label=_("说明"), required=False, max_length=100)


class BookForm(forms.Form):
    slot = forms.CharField(widget=forms.HiddenInput)
    service = forms.ChoiceField(label=_("服务"), choices=Service.choices, initial="counselling")
    voucher = forms.ChoiceField(label=_("使用心理服务券"), required=False)

    def __init__(self, *args, vouchers=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["voucher"].choices = [("", _("不使用"))] + [
            (str(v.pk), f"{v.code}（{v.value_yuan}元，{v.expires_at:%Y-%m-%d}前有效）")
            for v in vouchers
        ]
        if vouchers:
            self.initial.setdefault("voucher", str(vouchers[0].pk))


class CancelForm(forms.Form):
    reason = forms.CharField(label=_("取消原因"), required=False, max_length=200)


class RateForm(forms.Form):
    rating = forms.TypedChoiceField(
        label=_("评分"),
        coerce=int,
        choices=[(5, "★★★★★"), (4, "★★★★"), (3, "★★★"), (2, "★★"), (1, "★")],
        widget=forms.RadioSelect,
    )
    feedback = forms.CharField(
        label=_("您的意见（选填）"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )


class BudgetForm(forms.Form):
    area = forms.ModelChoiceField(label=_("区划"), queryset=None, empty_label=_("请选择区划"))
    name = forms.CharField(label=_("名称"), max_length=100)
    period_start = forms.DateField(
        label=_("开始日期"), widget=forms.DateInput(attrs={"type": "date"})
    )
    period_end = forms.DateField(
        label=_("结束日期"), widget=forms.DateInput(attrs={"type": "date"})
    )
    total = forms.CharField(label=_("预算金额（元）"))

    def __init__(self, *args, areas=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["area"].queryset = areas


class IssueForm(forms.Form):
    budget = forms.ModelChoiceField(label=_("预算"), queryset=None, empty_label=_("请选择预算"))
    value = forms.CharField(label=_("面值（元）"), initial="100")
    valid_days = forms.IntegerField(label=_("有效天数"), min_value=1, max_value=366, initial=90)
    services = forms.MultipleChoiceField(
        label=_("可用服务"),
        choices=Service.choices,
        initial=["counselling"],
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, budgets=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["budget"].queryset = budgets
