"""HTML forms for screening pages. Validation of answers is the scoring engine's."""

import datetime as dt
import hashlib
import secrets

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from xinan.core.lib import uploads
from xinan.core.models import Area
from xinan.people.models import PopulationTag
from xinan.screening import campaigns, services

EARLIEST_DAY = services.EARLIEST_ASSESSMENT.date()


class WhereWhenForm(forms.Form):
    assessed_on = forms.DateField(
        label=_("测评日期"),
        initial=timezone.localdate,
        widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}),
    )
    site = forms.CharField(label=_("地点"), max_length=200, required=False)
    # A fresh token per page shown: the same form posted twice (a double click, a reload,
    # a slow network's retry) saves one assessment (screening.services idempotency keys).
    form_token = forms.CharField(widget=forms.HiddenInput, required=False, max_length=64)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial["form_token"] = secrets.token_urlsafe(24)

    def clean_assessed_on(self):
        day = self.cleaned_data["assessed_on"]
        if day > timezone.localdate():
            raise forms.ValidationError(_("测评日期不能晚于今天"))
        if day < EARLIEST_DAY:
            raise forms.ValidationError(_("测评日期不能早于2000年1月1日，请核对"))
        return day

    def idempotency_key(self, user) -> str | None:
        """The key for this page's submission, per user (None for a form without a token)."""
        token = self.cleaned_data.get("form_token")
        if not token:
            return None
        return hashlib.sha256(f"form:{user.pk}:{token}".encode()).hexdigest()

    def submitted_at(self) -> dt.datetime:
        day = self.cleaned_data["assessed_on"]
        if day == timezone.localdate():
            return timezone.now()
        return timezone.make_aware(dt.datetime.combine(day, dt.time(12, 0)))


class InterviewForm(WhereWhenForm):
    """All items of one instrument on one page, for an interviewer reading them aloud."""

    def __init__(self, *args, instrument, **kwargs):
        super().__init__(*args, **kwargs)
        self.instrument = instrument
        for n, item in enumerate(instrument.items, start=1):
            text = services.item_text(item) or _("第%(n)d题") % {"n": n}
            self.fields[f"item_{item.id}"] = forms.ChoiceField(
                label=f"{n}. {text}",
                choices=[(str(o[0]), services.option_label(o)) for o in item.options],
                widget=forms.RadioSelect,
                error_messages={"required": _("请为此题选择一个答案")},
            )

    def answers(self) -> dict[str, str]:
        return {str(i.id): self.cleaned_data[f"item_{i.id}"] for i in self.instrument.items}


class PaperForm(WhereWhenForm):
    """Fast keyboard entry of a paper form: the person's ID number and the answer codes."""

    id_number = forms.CharField(
        label=_("身份证号"), max_length=18, widget=forms.TextInput(attrs={"autofocus": True})
    )
    instrument = forms.ChoiceField(label=_("量表"))
    answers = forms.CharField(
        label=_("答案编码"),
        help_text=_("按题目顺序输入选项编码，如 0,1,2,3 或 0123"),
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "numeric"}),
    )
    field_order = ["id_number", "instrument", "answers", "assessed_on", "site"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["instrument"].choices = services.instrument_choices()


class CampaignForm(forms.Form):
    name = forms.CharField(label=_("活动名称"), max_length=120)
    area = forms.ModelChoiceField(label=_("目标地区"), queryset=Area.objects.none())
    tags = forms.ModelMultipleChoiceField(
        label=_("目标人群"),
        queryset=PopulationTag.objects.all(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    age_min = forms.IntegerField(label=_("最小年龄"), min_value=0, max_value=120, required=False)
    age_max = forms.IntegerField(label=_("最大年龄"), min_value=0, max_value=120, required=False)
    instruments = forms.MultipleChoiceField(
        label=_("量表"), widget=forms.CheckboxSelectMultiple, choices=()
    )
    starts_on = forms.DateField(
        label=_("开始日期"), widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"})
    )
    ends_on = forms.DateField(
        label=_("结束日期"), widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"})
    )

    def __init__(self, *args, prefixes, **kwargs):
        super().__init__(*args, **kwargs)
        from xinan.core.scope import area_q

        self.fields["area"].queryset = (
            Area.objects.current().filter(area_q(prefixes, "code")).exclude(level="grid")
        )
        self.fields["instruments"].choices = services.instrument_choices()

    def to_data(self) -> campaigns.CampaignData:
        d = self.cleaned_data
        return campaigns.CampaignData(
            name=d["name"],
            area=d["area"],
            instruments=tuple(d["instruments"]),
            starts_on=d["starts_on"],
            ends_on=d["ends_on"],
            tags=tuple(d["tags"]),
            age_min=d["age_min"],
            age_max=d["age_max"],
        )


class ImportForm(forms.Form):
    instrument = forms.ChoiceField(label=_("量表"))
    file = forms.FileField(label=_("文件（.xlsx、.csv 或 Unicode 文本）"))
    site = forms.CharField(label=_("地点"), max_length=200, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["instrument"].choices = services.instrument_choices()

    def clean_file(self):
        # size (XINAN_MAX_UPLOAD_MB), a real .xlsx, a text encoding we read: before any row
        f = self.cleaned_data["file"]
        problem = uploads.upload_problem(f, kinds=("xlsx", "csv", "txt"))
        if problem:
            raise forms.ValidationError(problem)
        return f
