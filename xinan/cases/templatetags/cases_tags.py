from django import template

from xinan.cases import timeline

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
