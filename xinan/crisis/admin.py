from django.contrib import admin

from xinan.crisis.models import AlertRule, DutyShift


@admin.register(AlertRule)
class AlertRuleAdmin(admin.ModelAdmin):
    """Levels and switches of the alert rules are data, edited here by sysadmins."""

    list_display = [
        "key",
        "name",
        "trigger",
        "instrument",
        "item",
        "bands",
        "threshold",
        "level",
        "active",
    ]
    list_editable = ["level", "active"]
    list_filter = ["trigger", "level", "active"]
    search_fields = ["key", "name", "instrument"]


@admin.register(DutyShift)
class DutyShiftAdmin(admin.ModelAdmin):
    list_display = ["user", "area", "starts_at", "ends_at"]
    raw_id_fields = ["user", "area"]
    date_hierarchy = "starts_at"
