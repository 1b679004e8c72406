"""People words for codes in templates: audit actions, record types, field names.

Codes stay in exports (the CSV keeps them); pages show what a person reads. `{% load labels %}`.
"""

from django import template
from django.apps import apps
from django.utils.translation import gettext_lazy as _

from xinan.core import audit

register = template.Library()

VERBS = {
    "view": _("查看"),
    "list": _("查看列表"),
    "create": _("新建"),
    "add": _("新增"),
    "update": _("修改"),
    "edit": _("修改"),
    "change": _("修改"),
    "delete": _("删除"),
    "export": _("导出"),
    "import": _("导入"),
    "open": _("开启"),
    "review": _("审核"),
    "search": _("搜索"),
    "grant": _("授权"),
    "revoke": _("撤销"),
    "login": _("登录"),
    "logout": _("退出"),
}


def _model(label: str):
    try:
        app_label, model_name = label.split(".", 1)
        return apps.get_model(app_label, model_name)
    except (LookupError, ValueError):
        return None


@register.filter
def action_words(code: str) -> str:
    """A registered action's label; else the verb and the record type (`people.person.view` →
    查看居民); else the code."""
    label = audit.action_label(code)
    if label != code:
        return label
    parts = (code or "").split(".")
    if len(parts) >= 3 and parts[-1] in VERBS:
        model = _model(".".join(parts[:2]))
        if model is not None:
            return _("%(verb)s%(what)s") % {
                "verb": VERBS[parts[-1]],
                "what": model._meta.verbose_name,
            }
    return code


@register.filter
def field_labels(entry) -> str:
    """Changed field names as the record type's verbose names, joined."""
    model = _model(entry.object_type or "")
    names = []
    for name in entry.changed_fields or []:
        try:
            names.append(str(model._meta.get_field(name).verbose_name) if model else name)
        except Exception:  # noqa: BLE001 — a field since removed, or not a model field
            names.append(name)
    return "、".join(names)
