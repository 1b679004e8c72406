from django.contrib import admin

from xinan.core.models import Area, AuditEntry, BreakGlassGrant, Institution


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


@admin.register(BreakGlassGrant)
class BreakGlassGrantAdmin(ReadOnlyAdmin):
    """Sysadmins see that a grant was opened and reviewed, not whose record it opened nor the
    reason (person-level, possibly clinical: the area admins above the person review it)."""

    list_display = ["created_at", "user", "person_id", "expires_at", "review_outcome"]
    exclude = ["person", "reason", "review_note"]
    readonly_fields = ["person_id"]
