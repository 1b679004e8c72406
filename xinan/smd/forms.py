"""HTML forms of the SMD pages. Validation of business rules lives in services.py."""

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from xinan.core.models import Area, AreaLevel, Institution
from xinan.smd.models import (
    DANGER_FIELDS,
    RISK_DEFINITIONS,
    Classification,
    Disorder,
    Disposal,
    Emergency,
    FollowUp,
    Involved,
    Patient,
    PhysicalExam,
    Rehab,
    Symptom,
    Trigger,
)

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
RISK_CHOICES = [(level, text) for level, text in RISK_DEFINITIONS.items()]


def _chinese_empty(form: forms.Form) -> None:
    """Every empty choice reads in Chinese, never '---------'."""
    for field in form.fields.values():
        if isinstance(field, forms.ChoiceField) and not isinstance(
            field.widget, forms.RadioSelect | forms.CheckboxSelectMultiple
        ):
            choices = list(field.choices)
            if choices and choices[0][0] in ("", None):
                field.choices = [("", _("请选择"))] + choices[1:]


def _dates(form: forms.Form) -> None:
    for field in form.fields.values():
        if isinstance(field, forms.DateField):
            field.widget = DATE


class PatientForm(forms.ModelForm):
    past_symptoms = forms.MultipleChoiceField(
        label=_("既往主要症状"),
        choices=Symptom.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = Patient
        fields = [
            "disorder", "icd10_code", "diagnosis_institution", "diagnosis_date", "onset_date",
            "guardian_name", "guardian_relation", "guardian_phone", "guardian_address",
            "village_contact_name", "village_contact_phone", "household", "employment",
            "consent_management", "consent_signed_by", "consent_date", "past_symptoms",
            "past_locking", "outpatient_history", "first_antipsychotic_date", "inpatient_times",
            "economic_status", "specialist_advice", "notes",
        ]  # fmt: skip
        widgets = {
            "guardian_name": forms.TextInput,
            "guardian_phone": forms.TextInput,
            "guardian_address": forms.TextInput,
            "village_contact_phone": forms.TextInput,
            "specialist_advice": forms.Textarea(attrs={"rows": 2}),
            "notes": forms.Textarea(attrs={"rows": 2}),
        }
        help_texts = {
            "icd10_code": _(
                "如 F20.0；癫痫所致精神障碍填 F06.x 或 G40，精神发育迟滞伴发精神障碍填 F70–F79"
            )
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _chinese_empty(self)
        _dates(self)


class RegisterForm(PatientForm):
    id_number = forms.CharField(label=_("身份证号"), max_length=18)

    field_order = ["id_number"]


class ReportForm(forms.Form):
    id_number = forms.CharField(label=_("身份证号"), max_length=18)
    institution = forms.ModelChoiceField(
        label=_("报告单位"), queryset=Institution.objects.none(), empty_label=_("请选择")
    )
    disorder = forms.ChoiceField(label=_("诊断"), choices=[("", _("请选择")), *Disorder.choices])
    icd10_code = forms.CharField(label=_("ICD-10编码"), max_length=10)
    diagnosis_date = forms.DateField(label=_("确诊日期"), widget=DATE)

    def __init__(self, *args, institutions=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["institution"].queryset = institutions or Institution.objects.none()


class FollowUpForm(forms.ModelForm):
    risk_level = forms.TypedChoiceField(
        label=_("危险性评估"),
        choices=RISK_CHOICES,
        coerce=int,
        required=False,
        empty_value=None,
        widget=forms.RadioSelect,
    )
    symptoms = forms.MultipleChoiceField(
        label=_("目前症状"), choices=Symptom.choices, required=False,
        widget=forms.CheckboxSelectMultiple,
    )  # fmt: skip
    rehab = forms.MultipleChoiceField(
        label=_("康复措施"), choices=Rehab.choices, required=False,
        widget=forms.CheckboxSelectMultiple,
    )  # fmt: skip
    override_class = forms.ChoiceField(
        label=_("本次随访分类（与规范判定不同时选择）"),
        choices=[("", _("按规范判定")), *Classification.choices[:3]],
        required=False,
    )
    override_reason = forms.CharField(label=_("调整分类的理由"), max_length=300, required=False)

    class Meta:
        model = FollowUp
        fields = [
            "visit_date", "mode", "reached", "not_reached_reason", "died", "death_date",
            "death_cause", "risk_level", "symptoms", "symptoms_other", "psychotic", "insight",
            "sleep", "diet", "social_self_care", "social_housework", "social_work",
            "social_learning", "social_contact", "danger_minor", "danger_trouble",
            "danger_disaster", "danger_other", "danger_self_harm", "danger_suicide_attempt",
            "locking", "hospitalisation", "last_discharge_date", "lab_tests", "lab_results",
            "adherence", "adverse", "adverse_text", "physical_illness", "effect", "referred",
            "referral_reason", "referral_to", "rehab", "rehab_other", "notes", "next_visit_date",
        ]  # fmt: skip
        widgets = {
            "lab_results": forms.TextInput,
            "adverse_text": forms.TextInput,
            "notes": forms.Textarea(attrs={"rows": 3}),
            "adverse": forms.RadioSelect,
            "physical_illness": forms.RadioSelect,
            "psychotic": forms.RadioSelect,
            "insight": forms.RadioSelect,
            "adherence": forms.RadioSelect,
        }
        help_texts = {
            "next_visit_date": _("不填则按本次分类的最迟随访日期排期"),
            "psychotic": _("按规范判断：基本消失 / 仍存在（较差） / 明显"),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["visit_date"].initial = timezone.localdate()
        self.fields["mode"].initial = "home"
        for name in ("adverse", "physical_illness", "psychotic", "insight", "adherence"):
            self.fields[name].choices = [c for c in self.fields[name].choices if c[0] != ""]
            self.fields[name].required = False  # required when the patient was reached
        for name in DANGER_FIELDS:
            self.fields[name].required = False
            self.fields[name].initial = 0
        _chinese_empty(self)
        _dates(self)
        self.fields["override_class"].choices = [("", _("按规范判定")), *Classification.choices[:3]]

    def clean(self):
        cleaned = super().clean()
        for name in DANGER_FIELDS:
            cleaned[name] = cleaned.get(name) or 0
        return cleaned


class DrugForm(forms.Form):
    name = forms.CharField(label=_("药物名称"), max_length=100, required=False)
    dose = forms.CharField(label=_("每次剂量"), max_length=40, required=False)
    frequency = forms.CharField(label=_("用法（每日次数）"), max_length=40, required=False)


DrugFormSet = forms.formset_factory(DrugForm, extra=3, max_num=10)


class OverrideForm(forms.Form):
    override_class = forms.ChoiceField(
        label=_("调整为"), choices=[("", _("请选择")), *Classification.choices[:3]]
    )
    override_reason = forms.CharField(label=_("理由"), max_length=300)


class ExamForm(forms.ModelForm):
    class Meta:
        model = PhysicalExam
        fields = [
            "year", "consent", "consent_by", "exam_date", "blood_routine", "glucose",
            "liver_function", "ecg", "other",
        ]  # fmt: skip
        widgets = {"other": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["year"].initial = timezone.localdate().year
        _dates(self)


class EmergencyForm(forms.ModelForm):
    occurred_at = forms.DateTimeField(
        label=_("发生时间"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    triggers = forms.MultipleChoiceField(
        label=_("应急情形"), choices=Trigger.choices, widget=forms.CheckboxSelectMultiple
    )
    risk_level = forms.TypedChoiceField(
        label=_("危险性评估"), choices=RISK_CHOICES, coerce=int, widget=forms.RadioSelect
    )
    involved = forms.MultipleChoiceField(
        label=_("参与处置"), choices=Involved.choices, required=False,
        widget=forms.CheckboxSelectMultiple,
    )  # fmt: skip
    disposals = forms.MultipleChoiceField(
        label=_("处置措施"), choices=Disposal.choices, required=False,
        widget=forms.CheckboxSelectMultiple,
    )  # fmt: skip
    complete = forms.BooleanField(label=_("记录单已填写完整"), required=False)

    class Meta:
        model = Emergency
        fields = ["occurred_at", "triggers", "risk_level", "involved", "disposals",
                  "hospital_institution", "hospital", "description"]  # fmt: skip
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}
        help_texts = {
            "hospital_institution": _("送往平台内的医院时选择：将同时向该院发出紧急上转转介"),
            "hospital": _("平台外的医院请直接填写名称"),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["hospital_institution"]
        field.queryset = Institution.objects.filter(kind__in=["mhc", "hospital"])
        field.empty_label = _("不送往平台内医院")


class CompleteEmergencyForm(forms.Form):
    description = forms.CharField(label=_("经过与处置"), widget=forms.Textarea(attrs={"rows": 3}))


class TransferForm(forms.Form):
    to_area = forms.ModelChoiceField(
        label=_("迁入村居"),
        queryset=Area.objects.filter(level=AreaLevel.VILLAGE),
        empty_label=_("请选择"),
    )
    reason = forms.CharField(label=_("转移原因"), max_length=200)


class IndicatorForm(forms.Form):
    area = forms.CharField(required=False)
    start = forms.DateField(label=_("起始日期"), required=False, widget=DATE)
    end = forms.DateField(label=_("截止日期"), required=False, widget=DATE)


FOLLOW_UP_GROUPS = [
    (_("本次随访"), ["visit_date", "mode", "reached", "not_reached_reason", "died", "death_date",
                   "death_cause"]),
    (_("危险性评估"), ["risk_level"]),
    (_("精神状况"), ["symptoms", "symptoms_other", "psychotic", "insight", "sleep", "diet"]),
    (_("社会功能情况"), ["social_self_care", "social_housework", "social_work",
                       "social_learning", "social_contact"]),
    (_("两次随访期间危险行为（次数）"), ["danger_minor", "danger_trouble", "danger_disaster",
                                   "danger_other", "danger_self_harm",
                                   "danger_suicide_attempt"]),
    (_("关锁与住院"), ["locking", "hospitalisation", "last_discharge_date"]),
    (_("检查与服药"), ["lab_tests", "lab_results", "physical_illness", "adherence", "adverse",
                    "adverse_text", "effect"]),
    (_("转诊与康复"), ["referred", "referral_reason", "referral_to", "rehab", "rehab_other"]),
    (_("分类与下次随访"), ["override_class", "override_reason", "next_visit_date", "notes"]),
]  # fmt: skip
