"""Crisis words for any template: who can call back now, level labels, a person's alerts."""

from django import template

from xinan.core import scope
from xinan.crisis import routing
from xinan.crisis.models import Alert, HotlineCall, Level

register = template.Library()


@register.simple_tag
def who_can_call(area_code: str) -> str:
    """ "on_duty", "fallback" or "nobody": what is true right now for a resident of the area."""
    now = routing.reachability(area_code or "")
    return "on_duty" if now.on_duty else "fallback" if now.fallback else "nobody"


@register.filter
def level_label(code: str) -> str:
    try:
        return Level(code).label
    except ValueError:
        return code


@register.inclusion_tag("crisis/_person_crisis.html", takes_context=True)
def person_crisis(context, person):
    """A person's alerts and hotline calls on their page, at the viewer's detail level: names
    of levels and states for everyone who may open the person; summaries and call topics only
    from the scores level up (crisis workers, counsellors, doctors, psychiatrists)."""
    user = context["request"].user
    detail = scope.detail_for(user, person, domain="crisis")
    alerts = list(
        scope.filter_related(user, Alert.objects.filter(person=person)).order_by("-raised_at")[:20]
    )
    calls = list(
        scope.filter_related(user, HotlineCall.objects.filter(person=person)).order_by(
            "-received_at"
        )[:20]
    )
    if detail < scope.Detail.FLAG:
        alerts, calls = [], []
    return {
        "shown": detail >= scope.Detail.FLAG,
        "alerts": alerts,
        "calls": calls,
        "details": detail >= scope.Detail.SCORES,
        "crisis_desk": "crisis_worker" in user.roles(),
    }
