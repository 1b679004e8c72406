from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class LoginForm(AuthenticationForm):
    username = forms.CharField(label=_("用户名或手机号"), max_length=150)

    error_messages = {
        "invalid_login": _("用户名/手机号或密码不正确"),
        "inactive": _("该账号已停用"),
    }

    def clean(self):
        try:
            return super().clean()
        except forms.ValidationError:
            until = getattr(self.request, "login_locked_until", None)
            if until is not None:
                minutes = max(1, int((until - timezone.now()).total_seconds() // 60) + 1)
                raise forms.ValidationError(
                    _("登录失败次数过多，账号已锁定，请%(minutes)d分钟后再试"),
                    code="locked",
                    params={"minutes": minutes},
                ) from None
            raise


class TotpForm(forms.Form):
    code = forms.CharField(
        label=_("6位动态口令"),
        max_length=6,
        min_length=6,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code"}),
    )


class ResidentRegisterForm(forms.Form):
    phone = forms.CharField(label=_("手机号"), max_length=20)
    display_name = forms.CharField(label=_("称呼（可选）"), max_length=50, required=False)
    password = forms.CharField(label=_("密码"), widget=forms.PasswordInput)
    password2 = forms.CharField(label=_("再次输入密码"), widget=forms.PasswordInput)

    def clean(self):
        data = super().clean()
        if data.get("password") and data.get("password") != data.get("password2"):
            self.add_error("password2", _("两次输入的密码不一致"))
        return data
