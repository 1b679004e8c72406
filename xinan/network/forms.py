from django import forms
from django.db.models import Q
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


class ProfessionalForm(forms.ModelForm):
    class Meta:
        from xinan.network.models import Professional

        model = Professional
        fields = [
            "name",
            "kind",
            "area",
            "institution",
            "phone",
            "specialties",
            "languages",
            "populations",
            "sites",
            "bio",
            "active",
        ]
        widgets = {
            "populations": forms.CheckboxSelectMultiple,
            "sites": forms.SelectMultiple(attrs={"size": 6}),
        }

    def __init__(self, *args, areas=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["area"].queryset = areas if areas is not None else Area.objects.none()
        self.fields["area"].empty_label = _("请选择区划")
        self.fields["kind"].choices = [("", _("请选择类别")), *self.fields["kind"].choices[1:]]
        self.fields["institution"].empty_label = _("无")
        prefixes = [a.prefix for a in (areas or [])]
        q = Q(pk__in=[])
        for p in prefixes:
            q |= Q(area__code__startswith=p)
        self.fields["sites"].queryset = ServiceSite.objects.filter(q)
        self.fields["sites"].required = False


class CertificateForm(forms.Form):
    name = forms.CharField(label=_("证书名称"), max_length=100)
    number = forms.CharField(label=_("证书编号"), max_length=60)
    issuer = forms.CharField(label=_("发证机构"), max_length=100)
    issued_on = forms.DateField(
        label=_("发证日期"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    expires_on = forms.DateField(
        label=_("有效期至"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )


class CourseForm(forms.ModelForm):
    class Meta:
        from xinan.network.models import Course

        model = Course
        fields = ["title", "topic", "area", "description", "certificate_name"]

    def __init__(self, *args, areas=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["area"].queryset = areas if areas is not None else Area.objects.none()
        self.fields["area"].empty_label = _("请选择区划")


class SessionForm(forms.ModelForm):
    class Meta:
        from xinan.network.models import TrainingSession

        model = TrainingSession
        fields = ["topic", "trainer", "starts_at", "ends_at", "hours", "site", "online_url"]
        widgets = {
            "starts_at": forms.DateTimeInput(attrs={"type": "datetime-local"}),
            "ends_at": forms.DateTimeInput(attrs={"type": "datetime-local"}),
        }

    def __init__(self, *args, sites=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["site"].queryset = sites if sites is not None else ServiceSite.objects.none()
        self.fields["site"].empty_label = _("线上培训")
