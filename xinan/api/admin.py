from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from xinan.api.models import ApiToken


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    # Keys are issued with `xinan api_token issue` (shown once); here they are seen and revoked.
    list_display = [
        "prefix",
        "name",
        "user",
        "created_at",
        "expires_at",
        "revoked_at",
        "last_used_at",
    ]
    list_filter = ["revoked_at"]
    search_fields = ["name", "user__username", "prefix"]
    # Who a token acts for never changes after issue; its name and expiry may, audited.
    readonly_fields = ["prefix", "user", "created_at", "created_by", "revoked_at", "last_used_at"]
    actions = ["revoke_selected"]

    def has_add_permission(self, request):
        return False

    def save_model(self, request, obj, form, change):
        from xinan.api import services

        services.update_token(obj, changed_fields=form.changed_data, actor=request.user)

    def delete_model(self, request, obj):
        from xinan.api import services

        services.delete_token(obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for token in queryset:
            self.delete_model(request, token)

    @admin.action(description=_("吊销所选令牌"))
    def revoke_selected(self, request, queryset):
        from xinan.api import services

        for token in queryset:
            services.revoke(token, actor=request.user)
