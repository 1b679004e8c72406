from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from xinan.core import deliveries
from xinan.core.models import (
    AccessGrant,
    Area,
    AuditEntry,
    Delivery,
    Institution,
    Job,
    SweepRun,
)
from xinan.core.templatetags import labels
from xinan.core.work_models import ALL_CONSUMERS


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
    list_display = ["at", "actor_shown", "action_shown", "object_type", "object_id", "area_code"]
    list_filter = ["action"]
    search_fields = ["actor_label", "object_id", "action"]
    # The detail page shows these instead of the raw label and reason: no phone in clear.
    fields = [
        "at",
        "actor_shown",
        "action_shown",
        "object_type",
        "object_id",
        "area_code",
        "changed_fields",
        "reason_shown",
        "ip_address",
    ]
    readonly_fields = fields

    @admin.display(description=_("操作人"), ordering="actor_label")
    def actor_shown(self, entry):
        return entry.actor_display

    @admin.display(description=_("动作"), ordering="action")
    def action_shown(self, entry):
        # The same words as the audit log page (a registered label, else verb + record type).
        return labels.action_words(entry.action)

    @admin.display(description=_("理由"))
    def reason_shown(self, entry):
        return entry.reason_display


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
    # Sysadmins see that a grant was opened, to whom and until when, not whose record nor why
    # (person-level, possibly clinical: the area admins above the person review it).
    exclude = ["person", "reason", "revoke_reason", "review_note"]
    readonly_fields = ["person_id"]


class ConsumerFilter(admin.SimpleListFilter):
    """By consumer, the shared rows ("*") under a name a sysadmin can read."""

    title = _("消费者")
    parameter_name = "consumer"

    def lookups(self, request, model_admin):
        names = model_admin.get_queryset(request).order_by("consumer").distinct()
        return [
            (name, _("所有消费者（共享投递）") if name == ALL_CONSUMERS else name)
            for name in names.values_list("consumer", flat=True)
        ]

    def queryset(self, request, queryset):
        return queryset.filter(consumer=self.value()) if self.value() else queryset


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    """What each consumer still owes; parked ones (failed ten times) with their error, for a
    sysadmin to read and retry once the cause is fixed."""

    list_display = ["id", "consumers", "event", "lane", "state", "attempts", "available_at"]
    list_filter = ["state", ConsumerFilter, "lane"]
    list_select_related = ["event"]
    # Every field is shown, none can be edited: a delivery changes only through the worker
    # (or the retry action below).
    fields = readonly_fields = [
        "event",
        "consumers",
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

    @admin.display(description=_("消费者"), ordering="consumer")
    def consumers(self, obj):
        # A row for several consumers names the lane's, not "*".
        if obj.consumer != ALL_CONSUMERS:
            return obj.consumer
        names = [c.name for c in deliveries.lane_consumers(obj.event.topic, obj.lane)]
        return _("所有消费者：%(names)s") % {"names": "、".join(names)}

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
