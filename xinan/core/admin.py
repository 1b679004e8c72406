from django.contrib import admin

from xinan.core.models import AccessGrant, Area, AuditEntry, Institution


@admin.register(Area)
class AreaAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "level", "parent", "valid_from", "valid_to", "hotline"]
    list_filter = ["level"]
    search_fields = ["code", "name"]
    raw_id_fields = ["parent"]


@admin.register(Institution)
class InstitutionAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "area"]
    list_filter = ["kind"]
    search_fields = ["name"]
    raw_id_fields = ["area"]


class ReadOnlyAdmin(admin.ModelAdmin):
    """Append-only records: nobody edits or deletes them here, superusers included."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ["at", "actor_label", "action", "object_type", "object_id", "area_code"]
    list_filter = ["action"]
    search_fields = ["actor_label", "object_id", "action"]


@admin.register(AccessGrant)
class AccessGrantAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "kind",
        "grantee",
        "person_id",
        "source",
        "expires_at",
        "revoked_at",
    ]
    list_filter = ["kind"]
