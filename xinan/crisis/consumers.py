"""Crisis consumes `assessment.scored` on the critical lane: the rules, then an alert."""

from xinan.core.events import Event, consumer
from xinan.crisis import rules, runner, services

TOPIC = "assessment.scored"


@consumer(TOPIC, name="crisis.alert_from_assessment", lane="critical")
def alert_from_assessment(event: Event) -> None:
    """Most events fire no rule: those touch nothing. One that fires raises or adds to an
    alert (idempotent per assessment: the same event twice changes nothing)."""
    rules_now = runner.active_rules()
    if not rules.evaluate(event.payload or {}, rules_now):
        return
    services.process_assessment_event(event, rules_now)
