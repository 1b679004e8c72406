from django import forms
from django.utils.translation import gettext_lazy as _

from xinan.core.models import Area, AreaLevel
from xinan.network.models import Service, ServiceSite, SiteType
from xinan.people.models import PopulationTag


def _towns():
    return Area.objects.current().filter(level=AreaLevel.TOWN).order_by("code")


class FinderForm(forms.Form):
    area = forms.ChoiceField(label=_("街镇"), required=False)
    site_type = forms.ChoiceField(
        label=_("类型"), required=False, choices=[("", _("全部类型")), *SiteType.choices]
    )
    service = forms.ChoiceField(
        label=_("服务"), required=False, choices=[("", _("全部服务")), *Service.choices]
    )
    open_now = forms.BooleanField(label=_("只看现在开放"), required=False)
    lat = forms.FloatField(required=False, widget=forms.HiddenInput, min_value=-90, max_value=90)
    lon = forms.FloatField(required=False, widget=forms.HiddenInput, min_value=-180, max_value=180)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["area"].choices = [("", _("全部街镇"))] + [(a.prefix, a.name) for a in _towns()]


class SiteForm(forms.ModelForm):
    hours = forms.CharField(
        label=_("每周开放时间"),
        help_text=_("例如：周一至周五 9:00-17:00；周六 9:00-12:00（热线：每天 0:00-24:00）"),
        widget=forms.TextInput,
    )
    service_list = forms.MultipleChoiceField(
        label=_("服务项目"), choices=Service.choices, widget=forms.CheckboxSelectMultiple
    )
    populations = forms.ModelMultipleChoiceField(
        label=_("服务人群"),
        queryset=PopulationTag.objects.all(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    photo = forms.FileField(label=_("照片（JPG或PNG，3MB以内）"), required=False)

    class Meta:
        model = ServiceSite
        fields = [
            "name",
            "site_type",
            "area",
            "institution",
            "address",
            "phone",
            "accessibility",
            "description",
            "lat",
            "lon",
            "booking_url",
            "active",
        ]

    def __init__(self, *args, areas=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["area"].queryset = areas if areas is not None else Area.objects.none()
        self.fields["area"].empty_label = _("请选择区划")
        self.fields["site_type"].choices = [("", _("请选择类型")), *SiteType.choices]
        self.fields["institution"].empty_label = _("不属于机构")
        self.fields["area"].error_messages["required"] = _("服务点必须属于一个区划（街镇或村居）")
        if self.instance.pk:
            self.initial["service_list"] = self.instance.service_codes


class ClosureForm(forms.Form):
    date = forms.DateField(label=_("日期"), widget=forms.DateInput(attrs={"type": "date"}))
    opens = forms.TimeField(
        label=_("特别开门"), required=False, widget=forms.TimeInput(attrs={"type": "time"})
    )
    closes = forms.TimeField(
        label=_("特别关门"), required=False, widget=forms.TimeInput(attrs={"type": "time"})
    )
    note = forms.CharField(label=_("说明"), required=False, max_length=100)
