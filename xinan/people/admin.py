from django.contrib import admin

from xinan.people.models import PopulationTag


# Person records are deliberately not in the admin: every person-level view goes through the
# scope gate and the audit log, which the admin would bypass.
@admin.register(PopulationTag)
class PopulationTagAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "special", "sort_order"]
