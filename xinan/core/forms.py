from django import forms
from django.utils.translation import gettext_lazy as _

from xinan.core.lib import uploads


class AreaImportForm(forms.Form):
    file = forms.FileField(label=_("区划CSV文件（code,name,level）"))

    def clean_file(self):
        f = self.cleaned_data["file"]
        problem = uploads.upload_problem(f, kinds=("csv", "txt"))
        if problem:
            raise forms.ValidationError(problem)
        return f


class AuditFilterForm(forms.Form):
    actor = forms.CharField(label=_("操作人"), required=False)
    action = forms.CharField(label=_("动作"), required=False)
    object_id = forms.CharField(label=_("对象编号"), required=False)
    since = forms.DateField(
        label=_("起始日期"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label=_("截止日期"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )


class GrantReviewForm(forms.Form):
    outcome = forms.ChoiceField(
        label=_("审核结论"), choices=[("justified", _("合理")), ("unjustified", _("不合理"))]
    )
    note = forms.CharField(label=_("审核意见"), required=False, max_length=500)


class GrantRevokeForm(forms.Form):
    reason = forms.CharField(label=_("撤销理由"), max_length=500)
