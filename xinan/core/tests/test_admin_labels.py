"""Admin screens are Chinese first: no field of a model in the admin shows the English label
Django derives from its name ("Leased by", "Event")."""

from django.contrib import admin


def test_every_field_of_an_admin_model_has_a_label_of_its_own():
    derived = []
    for model in admin.site._registry:
        if not model.__module__.startswith("xinan."):
            continue
        for field in model._meta.get_fields():
            if not getattr(field, "concrete", False) or field.auto_created:
                continue
            if str(field.verbose_name) == field.name.replace("_", " "):
                derived.append(f"{model.__name__}.{field.name}")
    assert derived == []
