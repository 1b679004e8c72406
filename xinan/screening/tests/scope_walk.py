"""screening's part of the walk-every-URL test (xinan/testing/scope_walk.py): an assessment, a
campaign with an invitation and an import job of the other district."""

import datetime as dt

from django.utils import timezone

from xinan.screening import campaigns, services
from xinan.screening.models import Assessment, Campaign, CampaignInvitation, ImportJob, Mode
from xinan.testing.scope_walk import Hidden, Page, World

PHQ9 = "PHQ-9"


def build(world: World) -> None:
    assessment = services.submit_assessment(
        instrument_code=PHQ9,
        answers=[1, 2, 1, 0, 1, 2, 1, 0, 1],
        mode=Mode.PAPER,
        actor=world.staff,
        person=world.person,
        site="永嘉社区XH",
    )
    world.add("assessment", assessment)
    world.secret("永嘉社区XH")
    today = timezone.localdate()
    campaign = campaigns.create_campaign(
        campaigns.CampaignData(
            name="徐汇筛查活动XH",
            area=world.town,
            instruments=(PHQ9,),
            starts_on=today,
            ends_on=today + dt.timedelta(days=30),
        ),
        actor=world.admin,
    )
    world.add("campaign", campaign)  # its name is on its public landing page: no secret
    world.add(
        "invitation",
        CampaignInvitation.objects.create(
            campaign=campaign,
            person=world.person,
            area_code=world.person.home_area_id,
            issued_by=world.admin,
        ),
    )
    world.add(
        "import_job",
        ImportJob.objects.create(
            instrument=PHQ9,
            file_name="徐汇导入XH.csv",
            path="",
            created_by=world.staff,
            rows_rejected=1,
        ),
    )
    world.secret("徐汇导入XH.csv")
    world.watch("its assessments", Assessment.objects.filter(person=world.person))
    world.watch("campaigns there", Campaign.objects.filter(area__code__startswith="310104"))
    world.watch("its invitations", CampaignInvitation.objects.filter(person=world.person))


def _person(w: World) -> dict:
    return {"pk": w.person.pk}


def _campaign(w: World) -> dict:
    return {"pk": w.campaign.pk}


def _answers(w: World) -> dict:
    return {
        "id_number": w.person.id_number,
        "instrument": PHQ9,
        "answers": "111111111",
        "assessed_on": timezone.localdate().isoformat(),
        **{f"item_{n}": "1" for n in range(1, 10)},
    }


URLS = {
    # residents (bearer links are meant for whoever holds them: a masked name only)
    "screening:pick": Page(),
    "screening:campaign_landing": Page(lambda w: {"token": w.campaign.token}),
    "screening:campaign_invitation": Page(lambda w: {"token": w.invitation.token}),
    "screening:campaign_invitation_question": Page(
        lambda w: {"token": w.invitation.token, "code": PHQ9}
    ),
    "screening:consent": Page(lambda w: {"code": PHQ9}),
    "screening:question": Page(lambda w: {"code": PHQ9}),
    "screening:result": Hidden(lambda w: {"pk": w.assessment.pk}),
    "screening:mine": Page(),
    # staff
    "screening:person": Hidden(_person),
    "screening:interview": Hidden(lambda w: {"pk": w.person.pk, "code": PHQ9}, data=_answers),
    "screening:paper": Page(data=_answers),
    "screening:assessment": Hidden(lambda w: {"pk": w.assessment.pk}),
    "screening:campaigns": Page(),
    "screening:campaign_create": Page(
        data=lambda w: {
            "name": "越权活动",
            "area": w.town.code,
            "instruments": [PHQ9],
            "starts_on": timezone.localdate().isoformat(),
            "ends_on": timezone.localdate().isoformat(),
        }
    ),
    "screening:campaign": Hidden(_campaign),
    "screening:campaign_invitations_issue": Hidden(_campaign),
    "screening:campaign_invitations_progress": Hidden(_campaign),
    "screening:campaign_invitations_print": Hidden(_campaign),
    "screening:campaign_invitation_reissue": Hidden(
        lambda w: {"pk": w.campaign.pk, "invitation": w.invitation.pk}
    ),
    "screening:campaign_invitations_download": Hidden(_campaign),
    "screening:import": Page(),
    "screening:import_template": Page(lambda w: {"code": PHQ9}),
    "screening:import_status": Hidden(lambda w: {"pk": w.import_job.pk}),
    "screening:import_rejected": Hidden(lambda w: {"pk": w.import_job.pk}),
}
