from django import template
from django.middleware.csrf import get_token

from xinan.cases import tables, timeline

register = template.Library()


@register.inclusion_tag("cases/_person_timeline.html", takes_context=True)
def person_timeline(context, person):
    """The person's loop: open cases and the whole timeline, for the people page."""
    from xinan.cases.services import cases_for

    user = context["request"].user
    return {
        "person": person,
        "items": timeline.for_person(user, person),
        "open_cases": cases_for(user).filter(person=person).open(),
    }


@register.simple_tag(takes_context=True)
def task_rows(context, rows, empty=""):
    """Worklist rows (`services.TaskRow`s) as table rows; "done" returns to this page."""
    request = context["request"]
    return tables.render_task_rows(
        rows, next_url=request.get_full_path(), csrf_token=get_token(request), empty=empty
    )
