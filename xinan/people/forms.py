import datetime as dt

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from xinan.core import scope
from xinan.core.models import Area
from xinan.people.models import Consent, ConsentKind, Gender, Person, PopulationTag
from xinan.people.services import PersonData, may_read_identifiers

EARLIEST_BIRTH = dt.date(1900, 1, 1)


class PersonForm(forms.Form):
    name = forms.CharField(label=_("姓名"), max_length=60)
    gender = forms.ChoiceField(label=_("性别"), choices=Gender.choices)
    birth_date = forms.DateField(
        label=_("出生日期"),
        required=False,
        # ISO, the only value a date input takes: a localised date would show as empty.
        widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}),
    )
    id_number = forms.CharField(label=_("身份证号"), max_length=20, required=False)
    phone = forms.CharField(label=_("手机号"), max_length=20, required=False)
    home_area = forms.ModelChoiceField(label=_("居住地（村居/网格）"), queryset=Area.objects.none())
    address = forms.CharField(label=_("详细地址"), max_length=200, required=False)
    tags = forms.ModelMultipleChoiceField(
        label=_("人群标签"),
        queryset=PopulationTag.objects.all(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    needs_attention = forms.BooleanField(label=_("需关注"), required=False)
    notes = forms.CharField(
        label=_("备注"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )

    def __init__(
        self, *args, user, show_notes: bool = True, person: Person | None = None, **kwargs
    ):
        super().__init__(*args, **kwargs)
        self.person = person
        # Editing as a role that may not read a record's identifiers: the fields start empty,
        # show the masked value, and left empty keep what is stored.
        self.masked_identifiers = person is not None and not may_read_identifiers(user, person)
        if self.masked_identifiers:
            for name, masked in (
                ("id_number", person.id_number_masked),
                ("phone", person.phone_masked),
            ):
                field = self.fields[name]
                field.widget.attrs["placeholder"] = masked or ""
                field.help_text = (
                    _("当前：%(masked)s。留空则不变；如需更正请输入完整号码。") % {"masked": masked}
                    if masked
                    else _("尚未登记；如需登记请输入完整号码。")
                )
                self.initial[name] = ""
        prefixes = [r.area_prefix for r in scope.reaches(user) if r.area_prefix]
        self.fields["home_area"].queryset = (
            Area.objects.current()
            .filter(level__in=["village", "grid"])
            .filter(scope.area_q(prefixes, "code"))
        )
        if not show_notes:
            del self.fields["notes"]

    @classmethod
    def initial_from(cls, person: Person) -> dict:
        return {
            "name": person.name,
            "gender": person.gender,
            "birth_date": person.birth_date,
            "id_number": person.id_number,
            "phone": person.phone,
            "home_area": person.home_area,
            "address": person.address,
            "tags": list(person.tags.all()),
            "needs_attention": person.needs_attention,
            "notes": person.notes,
        }

    def clean_birth_date(self):
        day = self.cleaned_data["birth_date"]
        if day is not None and day > timezone.localdate():
            raise forms.ValidationError(_("出生日期不能晚于今天"))
        if day is not None and day < EARLIEST_BIRTH:
            raise forms.ValidationError(_("出生日期不能早于1900年1月1日，请核对"))
        return day

    def to_data(self, keep_notes: str = "") -> PersonData:
        d = self.cleaned_data
        id_number, phone = d["id_number"], d["phone"]
        if self.masked_identifiers:
            id_number = id_number or self.person.id_number
            phone = phone or self.person.phone
        return PersonData(
            name=d["name"],
            gender=d["gender"],
            home_area=d["home_area"],
            birth_date=d["birth_date"],
            id_number=id_number,
            phone=phone,
            address=d["address"],
            notes=d.get("notes", keep_notes),
            needs_attention=d["needs_attention"],
            tags=tuple(d["tags"]),
        )


class ConsentForm(forms.ModelForm):
    class Meta:
        model = Consent
        fields = ["kind", "granted"]
        labels = {"granted": _("本人已同意")}

    kind = forms.ChoiceField(label=_("类型"), choices=ConsentKind.choices)


class BreakGlassForm(forms.Form):
    token = forms.CharField(widget=forms.HiddenInput)
    reason = forms.CharField(
        label=_("紧急理由"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("说明为何必须立即查看此档案；本次访问将被记录并由区域管理员审核。"),
    )
