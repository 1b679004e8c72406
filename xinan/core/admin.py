from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from xinan.core.models import (
    Area,
    AuditEntry,
    BreakGlassGrant,
    Delivery,
    Institution,
    Job,
    SweepRun,
)


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
    list_display = ["created_at", "user", "person_id", "expires_at", "review_outcome"]


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    """What each consumer still owes; parked ones (failed ten times) with their error, for a
    sysadmin to read and retry once the cause is fixed."""

    list_display = ["id", "consumer", "event", "lane", "state", "attempts", "available_at"]
    list_filter = ["state", "consumer", "lane"]
    readonly_fields = [
        "event",
        "consumer",
        "lane",
        "state",
        "attempts",
        "available_at",
        "leased_by",
        "leased_until",
        "last_error",
    ]
    actions = ["retry"]

    def has_add_permission(self, request):
        return False

    @admin.action(description=_("重新投递所选事件"))
    def retry(self, request, queryset):
        from xinan.core import worker

        n = worker.retry_parked(queryset, actor=request.user)
        self.message_user(request, _("已重新投递 %(n)s 条") % {"n": n})


@admin.register(SweepRun)
class SweepRunAdmin(ReadOnlyAdmin):
    list_display = ["name", "slot", "started_at", "finished_at", "handled", "leased_by"]
    list_filter = ["name"]


@admin.register(Job)
class JobAdmin(ReadOnlyAdmin):
    list_display = [
        "description",
        "task_path",
        "status",
        "attempts",
        "progress_done",
        "progress_total",
        "created_by",
        "enqueued_at",
        "finished_at",
    ]
    list_filter = ["status", "task_path"]
