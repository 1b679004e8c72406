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
    readonly_fields = ["prefix", "created_at", "created_by", "last_used_at"]
    actions = ["revoke_selected"]

    def has_add_permission(self, request):
        return False

    @admin.action(description=_("吊销所选令牌"))
    def revoke_selected(self, request, queryset):
        from xinan.api import services

        for token in queryset:
            services.revoke(token, actor=request.user)
