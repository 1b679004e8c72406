"""Accounts in the admin: every save goes through xinan.accounts.services (audited), phones are
shown masked and found only by an exact number, and a membership that opens person records
waits for a second administrator's approval (the 角色分配 list, action 批准)."""

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.http import HttpResponseRedirect
from django.utils.translation import gettext_lazy as _

from xinan.accounts import services
from xinan.accounts.models import Membership, User, phone_lookup_hash
from xinan.core.lib import phone as phone_lib


class MembershipInline(admin.TabularInline):
    model = Membership
    fk_name = "user"
    extra = 1
    raw_id_fields = ["area", "institution"]
    fields = ["role", "area", "institution", "active", "pending", "requested_by", "approved_by"]
    readonly_fields = ["pending", "requested_by", "approved_by"]


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    inlines = [MembershipInline]
    list_display = ["username", "display_name", "phone_masked", "is_active", "totp_confirmed"]
    search_fields = ["username", "display_name"]
    fieldsets = (
        *BaseUserAdmin.fieldsets,
        (_("心安"), {"fields": ["display_name", "phone_masked", "totp_confirmed", "locked_until"]}),
    )
    readonly_fields = ["phone_masked"]

    def get_search_results(self, request, queryset, search_term):
        # Phones are encrypted: an exact number is found by its keyed hash, a fragment never.
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        try:
            number = phone_lib.validate(search_term)
        except phone_lib.InvalidPhone:
            return results, may_have_duplicates
        return results | queryset.filter(phone_hash=phone_lookup_hash(number)), True

    def save_model(self, request, obj, form, change):
        services.save_account(
            obj, changed_fields=form.changed_data, created=not change, actor=request.user
        )

    def delete_model(self, request, obj):
        services.delete_account(obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for user in queryset:
            services.delete_account(user, actor=request.user)

    def save_formset(self, request, form, formset, change):
        if formset.model is not Membership:
            return super().save_formset(request, form, formset, change)
        formset.save(commit=False)
        user = form.instance
        for m in formset.deleted_objects:
            services.remove_membership(m, actor=request.user)
        for m in formset.new_objects:
            services.add_membership(
                user,
                role=m.role,
                area=m.area,
                institution=m.institution,
                active=m.active,
                actor=request.user,
            )
        for m, _fields in formset.changed_objects:
            services.change_membership(
                Membership.objects.get(pk=m.pk),
                role=m.role,
                area=m.area,
                institution=m.institution,
                active=m.active,
                actor=request.user,
            )
        if any(m.pending for m in user.memberships.all()):
            messages.warning(request, _("涉及居民档案访问的角色分配需由另一位系统管理员审批后生效"))

    def user_change_password(self, request, id, form_url=""):
        response = super().user_change_password(request, id, form_url)
        if request.method == "POST" and isinstance(response, HttpResponseRedirect):
            services.set_password_by_admin(User.objects.get(pk=id), actor=request.user)
        return response


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    """The approval queue: a pending membership opens records only after a different
    system administrator approves it here."""

    list_display = [
        "user",
        "role",
        "area",
        "institution",
        "active",
        "pending",
        "requested_by",
        "approved_by",
        "approved_at",
    ]
    list_filter = ["pending", "active", "role"]
    search_fields = ["user__username", "user__display_name"]
    readonly_fields = list_display + ["created_at"]
    actions = ["approve_selected", "reject_selected"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request)

    def _each(self, request, queryset, verb, done_message):
        done = 0
        for m in queryset:
            try:
                verb(m, actor=request.user)
            except services.AccountError as exc:
                self.message_user(request, f"{m}：{exc.message}", messages.ERROR)
            else:
                done += 1
        if done:
            self.message_user(request, done_message % {"n": done}, messages.SUCCESS)

    @admin.action(description=_("批准所选角色分配"))
    def approve_selected(self, request, queryset):
        self._each(request, queryset, services.approve_membership, _("已批准 %(n)d 项角色分配"))

    @admin.action(description=_("驳回所选角色分配"))
    def reject_selected(self, request, queryset):
        self._each(request, queryset, services.reject_membership, _("已驳回 %(n)d 项角色分配"))
