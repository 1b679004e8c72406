import datetime as dt

from django import forms
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from xinan.crisis.models import CallRisk, CallTopic, ContactOutcome, Disposition, Level

# Sane ranges for what people type: a call waits and lasts at most a day; a call was received
# in the past year (and not in the future); a shift starts within a year and lasts at most a
# month. Beyond them the form says so in Chinese instead of the database overflowing.
MAX_CALL_SECONDS = 24 * 3600
CALL_RECEIVED_MAX_AGE = dt.timedelta(days=366)
CLOCK_SKEW = dt.timedelta(minutes=10)
SHIFT_MAX_AHEAD = dt.timedelta(days=366)
SHIFT_MAX_BEHIND = dt.timedelta(days=1)
SHIFT_MAX_LENGTH = dt.timedelta(days=31)


def area_paths(areas) -> dict[str, str]:
    """Each area's name with its parents below the district: 华阳路街道 / 番禺居委会."""
    from xinan.core.models import Area

    by_code = {a.code: a for a in areas}
    missing = {a.parent_id for a in areas if a.parent_id and a.parent_id not in by_code}
    by_code.update({a.code: a for a in Area.objects.filter(code__in=missing)})
    paths = {}
    for area in areas:
        names, node = [area.name], by_code.get(area.parent_id)
        while node is not None and node.level not in ("district", "city", "province"):
            names.insert(0, node.name)
            node = by_code.get(node.parent_id)
        paths[area.code] = " / ".join(names)
    return paths


class DatalistInput(forms.TextInput):
    """A text box that suggests from a list as one types (a name finds every area with it)."""

    def __init__(self, options=(), attrs=None):
        super().__init__(attrs)
        self.options = list(options)

    def render(self, name, value, attrs=None, renderer=None):
        list_id = f"{(attrs or {}).get('id') or name}-options"
        attrs = {**(attrs or {}), "list": list_id, "autocomplete": "off"}
        html = super().render(name, value, attrs, renderer)
        options = format_html_join("", '<option value="{}"></option>', ((o,) for o in self.options))
        return format_html('{}<datalist id="{}">{}</datalist>', html, list_id, options)


class AreaField(forms.CharField):
    """An area picked by its path or name (or code), among the given areas."""

    def __init__(self, *, areas=(), **kwargs):
        self.areas = list(areas)
        self.paths = area_paths(self.areas)
        kwargs.setdefault("max_length", 200)
        super().__init__(widget=DatalistInput(sorted(self.paths.values())), **kwargs)
        self.widget.attrs["placeholder"] = _("输入名称搜索，如 番禺")

    def clean(self, value):
        text = (super().clean(value) or "").strip()
        if not text:
            return None
        by_code = {a.code: a for a in self.areas}
        if text in by_code:
            return by_code[text]
        exact = [a for a in self.areas if self.paths[a.code] == text]
        named = exact or [a for a in self.areas if a.name == text]
        if len(named) == 1:
            return named[0]
        if named:
            raise forms.ValidationError(
                _("有 %(n)s 个同名区域，请从列表中选择带上级名称的一项"), params={"n": len(named)}
            )
        raise forms.ValidationError(_("没有找到该区域，请输入名称后从列表中选择"))


PLEASE_CHOOSE = _("请选择")


class ChineseChoiceField(forms.ChoiceField):
    """A choice with a Chinese empty option ("请选择…")."""

    def __init__(self, *, empty=PLEASE_CHOOSE, choices=(), **kwargs):
        self.empty = empty
        super().__init__(choices=[("", empty), *choices], **kwargs)

    def set_choices(self, choices) -> None:
        self.choices = [("", self.empty), *choices]


class ContactForm(forms.Form):
    outcome = ChineseChoiceField(label=_("联系结果"), choices=ContactOutcome.choices)
    note = forms.CharField(
        label=_("说明"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class RiskForm(forms.Form):
    level = ChineseChoiceField(label=_("评估风险级别"), choices=Level.choices)
    note = forms.CharField(
        label=_("评估要点"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class DispositionForm(forms.Form):
    disposition = ChineseChoiceField(label=_("处置结果"), choices=Disposition.choices)
    note = forms.CharField(
        label=_("说明"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class CloseForm(forms.Form):
    reason = forms.CharField(label=_("关闭理由"), widget=forms.Textarea(attrs={"rows": 2}))


class ManualAlertForm(forms.Form):
    level = ChineseChoiceField(label=_("预警级别"), choices=Level.choices)
    reason = forms.CharField(label=_("发现的风险"), widget=forms.Textarea(attrs={"rows": 3}))


def _datetime(label):
    return forms.DateTimeField(
        label=label,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        error_messages={"invalid": _("请输入有效的日期和时间")},
    )


def _within(value, earliest, latest, message):
    if value is not None and not (earliest <= value <= latest):
        raise forms.ValidationError(message)
    return value


class ShiftForm(forms.Form):
    user = ChineseChoiceField(label=_("值班人员"), empty=_("请选择值班人员"))
    area = forms.CharField(label=_("负责区域"))
    starts_at = _datetime(_("开始时间"))
    ends_at = _datetime(_("结束时间"))

    def __init__(self, *args, users=(), areas=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].set_choices([(u.pk, str(u)) for u in users])
        self.fields["area"] = AreaField(label=_("负责区域"), areas=areas)

    def clean_starts_at(self):
        now = timezone.now()
        return _within(
            self.cleaned_data.get("starts_at"),
            now - SHIFT_MAX_BEHIND,
            now + SHIFT_MAX_AHEAD,
            _("开始时间须在昨天至一年以内"),
        )

    def clean(self):
        data = super().clean()
        start, end = data.get("starts_at"), data.get("ends_at")
        if start and end and end - start > SHIFT_MAX_LENGTH:
            self.add_error("ends_at", _("一个班次最长31天，请分成几个班次"))
        return data


class HandoverForm(forms.Form):
    to_user = forms.IntegerField(label=_("转交给"), widget=forms.Select)
    note = forms.CharField(label=_("交接说明"), required=False, max_length=300)

    def __init__(self, *args, people=(), **kwargs):
        super().__init__(*args, **kwargs)
        choices = [("", _("请选择值班人员"))]
        for user, duty in people:
            where = _("后备负责人") if duty.fallback else _("值班中")
            choices.append((user.pk, f"{user}（{where}）"))
        self.fields["to_user"].widget.choices = choices


def _seconds(label):
    return forms.IntegerField(
        label=label,
        min_value=0,
        max_value=MAX_CALL_SECONDS,
        initial=0,
        error_messages={
            "invalid": _("请输入秒数（整数）"),
            "min_value": _("秒数不能为负数"),
            "max_value": _("秒数不能超过一天（86400 秒）"),
        },
    )


class CallForm(forms.Form):
    received_at = _datetime(_("来电时间"))
    wait_seconds = _seconds(_("应答等待（秒）"))
    duration_seconds = _seconds(_("通话时长（秒）"))
    topic = ChineseChoiceField(label=_("主题"), choices=CallTopic.choices)
    risk = ChineseChoiceField(label=_("风险等级"), choices=CallRisk.choices)
    person_query = forms.CharField(
        label=_("居民（可选）：姓名、手机号或身份证号"), required=False, max_length=40
    )
    area_code = forms.CharField(label=_("来电所在区域（匿名时可选）"), required=False)
    phone = forms.CharField(label=_("来电号码（可选）"), required=False, max_length=20)
    notes = forms.CharField(
        label=_("咨询员记录"), required=False, widget=forms.Textarea(attrs={"rows": 4})
    )

    def __init__(self, *args, areas=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["received_at"].initial = lambda: timezone.localtime().strftime("%Y-%m-%dT%H:%M")
        self.fields["area_code"] = AreaField(
            label=_("来电所在区域（匿名时可选）"), areas=areas, required=False
        )

    def clean_received_at(self):
        now = timezone.now()
        return _within(
            self.cleaned_data.get("received_at"),
            now - CALL_RECEIVED_MAX_AGE,
            now + CLOCK_SKEW,
            _("来电时间须在过去一年以内，且不能晚于现在"),
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
    outcome = ChineseChoiceField(label=_("回电结果"), choices=ContactOutcome.choices)
