import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from xinan.accounts import services
from xinan.accounts.forms import LoginForm, ResidentRegisterForm, TotpForm
from xinan.accounts.models import User

BACKEND = "xinan.accounts.backends.PhoneOrUsernameBackend"


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True

    def form_valid(self, form):
        user = form.get_user()
        if user.totp_confirmed:
            # Password was right; the session is only created after the second factor.
            self.request.session["pending_2fa_user"] = user.pk
            self.request.session["pending_2fa_next"] = self.get_success_url()
            return redirect("accounts:totp_verify")
        return super().form_valid(form)


@require_http_methods(["GET", "POST"])
def totp_verify(request):
    user_id = request.session.get("pending_2fa_user")
    if not user_id:
        return redirect("accounts:login")
    user = User.objects.get(pk=user_id)
    form = TotpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.check_second_factor(user, form.cleaned_data["code"])
        except services.AccountError as exc:
            form.add_error("code", exc.message)
            if user.is_locked():
                # Locked: this half-finished login is over; the password is asked again later.
                request.session.pop("pending_2fa_user", None)
                request.session.pop("pending_2fa_next", None)
                messages.error(request, exc.message)
                return redirect("accounts:login")
        else:
            next_url = request.session.pop("pending_2fa_next", None)
            request.session.pop("pending_2fa_user", None)
            login(request, user, backend=BACKEND)
            if next_url and url_has_allowed_host_and_scheme(next_url, {request.get_host()}):
                return redirect(next_url)
            return redirect(settings.LOGIN_REDIRECT_URL)
    return render(request, "accounts/totp_verify.html", {"form": form})


@login_required
@require_http_methods(["GET", "POST"])
def totp_setup(request):
    user = request.user
    if user.totp_confirmed:
        # Enrolled: the secret is never shown again (re-enrolment is an administrator's reset).
        return render(request, "accounts/totp_setup.html", {"enabled": True})
    form = TotpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.confirm_totp(user, form.cleaned_data["code"])
        except services.AccountError as exc:
            form.add_error("code", exc.message)
        else:
            messages.success(request, _("两步验证已启用"))
            return redirect("home")
    elif request.method == "GET":
        services.start_totp_enrolment(user)
    uri = services.provisioning_uri(user, settings.PLATFORM_NAME)
    qr_svg = segno.make(uri).svg_inline(scale=4)
    return render(
        request,
        "accounts/totp_setup.html",
        {
            "form": form,
            "qr_svg": qr_svg,
            "secret": user.totp_secret,
            "enabled": user.totp_confirmed,
        },
    )


@require_http_methods(["GET", "POST"])
def register(request):
    form = ResidentRegisterForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.register_resident(
                phone=form.cleaned_data["phone"],
                password=form.cleaned_data["password"],
                display_name=form.cleaned_data["display_name"],
            )
        except services.AccountError as exc:
            form.add_error(None, exc.message)
        else:
            login(request, user, backend=BACKEND)
            return redirect("resident_home")
    return render(request, "accounts/register.html", {"form": form})


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("accounts:password_change_done")


class PasswordChangeDoneView(auth_views.PasswordChangeDoneView):
    template_name = "accounts/password_change_done.html"
