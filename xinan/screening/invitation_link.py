"""A personal invitation link (`/screening/i/<token>/`): a bearer link, so whoever holds it
answers for the invited person without logging in, and the pages behind it show a masked name
only. The invitation is found by its token; each instrument of the campaign is answered once.
"""

from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from xinan.core import audit
from xinan.screening import services
from xinan.screening.models import Assessment, AssessmentDraft, Campaign, CampaignInvitation


def get_invitation(token: str) -> CampaignInvitation | None:
    if not token or len(token) > 40:
        return None
    return (
        CampaignInvitation.objects.select_related("campaign", "campaign__area", "person")
        .filter(token=token)
        .first()
    )


def answered(invitation: CampaignInvitation) -> set[str]:
    """Codes of the campaign's instruments already answered through this invitation."""
    return set(invitation.assessments.values_list("instrument", flat=True))


def by_link(campaign: Campaign) -> set[str]:
    """Codes of the campaign's instruments a person can answer alone (item text installed);
    the others (licensed scales) are done with staff, and do not hold up completion."""
    codes = set()
    for code in campaign.instruments:
        try:
            if services.instrument(code).text_installed:
                codes.add(code)
        except services.ScreeningError:
            continue
    return codes


def left_to_answer(invitation: CampaignInvitation) -> set[str]:
    return by_link(invitation.campaign) - answered(invitation)


def _check_open(invitation: CampaignInvitation, code: str) -> None:
    if not invitation.campaign.is_open():
        raise services.ScreeningError(_("本次筛查活动不在进行中"))
    if code not in invitation.campaign.instruments:
        raise services.ScreeningError(_("本次筛查活动不包含这个量表"))
    if code in answered(invitation):
        raise services.ScreeningError(_("这份量表您已经完成了"))


def start_invitation_draft(invitation: CampaignInvitation, inst) -> AssessmentDraft:
    """After consent on the invitation page: record it for the person and open a draft."""
    from xinan.people import services as people_services
    from xinan.people.models import ConsentKind

    _check_open(invitation, inst.code)
    with transaction.atomic():
        # Nobody is logged in: the consent is recorded without a recorder, as the person's own.
        people_services.record_consent(
            invitation.person, kind=ConsentKind.ASSESSMENT, granted=True, actor=None
        )
        return services.start_draft(inst, person=invitation.person, campaign=invitation.campaign)


def draft_for(invitation: CampaignInvitation, token: str | None, code: str):
    """The draft in the link's cookie, only if it belongs to this invitation."""
    draft = services.get_draft(token, code)
    if draft is None:
        return None
    if draft.person_id != invitation.person_id or draft.campaign_id != invitation.campaign_id:
        return None
    return draft


def finish_invitation_draft(invitation: CampaignInvitation, draft, inst) -> Assessment:
    """Submit the answers as a self-assessment of the invited person in the campaign, and mark
    the invitation: linked to the assessment, completed once every instrument is answered."""
    _check_open(invitation, inst.code)
    anonymous = AnonymousUser()  # the bearer of the link, not a logged-in user
    with transaction.atomic():
        a = services.finish_draft(draft, inst, actor=anonymous)
        invitation.assessments.add(a)
        fields = []
        if a.positive and not invitation.positive:
            invitation.positive = True
            fields.append("positive")
        if invitation.completed_at is None and not left_to_answer(invitation):
            invitation.completed_at = timezone.now()
            fields.append("completed_at")
        if fields:
            invitation.save(update_fields=fields)
        audit.record(
            "screening.invitation.answer",
            invitation,
            actor=anonymous,
            changed_fields=["assessments", *fields],
            reason=f"{a.instrument} #{a.pk}",
        )
    return a
