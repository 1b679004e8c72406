from django.contrib import admin

from xinan.cases.models import TaskRule


@admin.register(TaskRule)
class TaskRuleAdmin(admin.ModelAdmin):
    """Task rules are data: admins change due times and who gets the work without a release."""

    list_display = ["name", "trigger", "kind", "due_hours", "due_days", "working_days", "active"]
    list_filter = ["trigger", "kind", "active"]
    list_editable = ["due_hours", "due_days", "active"]
    search_fields = ["key", "name"]
