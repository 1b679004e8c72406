import datetime as dt

import time_machine
from django.urls import reverse

from xinan.screening import campaigns, invitation_link, services
from xinan.screening.models import Campaign
from xinan.testing import factories


def make_campaign(areas, admin, **kwargs):
    data = (
        dict(
            name="2026秋季抑郁筛查",
            area=areas["district"],
            instruments=("PHQ-9",),
            starts_on=dt.date(2026, 9, 1),
            ends_on=dt.date(2026, 12, 31),
        )
        | kwargs
    )
    return campaigns.create_campaign(campaigns.CampaignData(**data), actor=admin)


def test_it_creates_a_campaign_with_an_invitation_link_and_qr(client, district_admin, areas):
    client.force_login(district_admin)
    response = client.post(
        reverse("screening:campaign_create"),
        {
            "name": "老年人筛查",
            "area": areas["town_a"].code,
            "instruments": ["PHQ-9"],
            "starts_on": "2026-11-01",
            "ends_on": "2026-11-30",
            "age_min": "60",
        },
    )
    campaign = Campaign.objects.get()
    assert response.url == reverse("screening:campaign", args=[campaign.pk])
    page = client.get(response.url).content.decode()
    assert f"/screening/c/{campaign.token}/" in page and "<svg" in page


def test_it_refuses_a_campaign_outside_the_admins_areas(town_admin, areas):
    import pytest

    with pytest.raises(services.ScreeningError):
        make_campaign(areas, town_admin, area=areas["town_b"])


def test_it_counts_per_child_area_with_drill_down(client, district_admin, areas):
    from xinan.screening import campaigns
    from xinan.screening.models import CampaignInvitation

    campaign = make_campaign(areas, district_admin)
    for area, n in (("grid_a", 12), ("grid_b", 9)):
        for _ in range(n):
            factories.PersonFactory(home_area=areas[area])
    with time_machine.travel(dt.datetime(2026, 10, 1, 12, 0), tick=False):
        campaigns.issue_invitations(campaign, actor=district_admin)
        inst = services.instrument("PHQ-9")
        for prefix, n, positive in (("310105001", 7, 6), ("310105102", 5, 0)):
            invitations = CampaignInvitation.objects.filter(area_code__startswith=prefix)
            for i, invitation in enumerate(invitations[:n]):
                draft = invitation_link.start_invitation_draft(invitation, inst)
                for _item in range(9):
                    services.answer_item(draft, inst, "3" if i < positive else "0")
                invitation_link.finish_invitation_draft(invitation, draft, inst)
    client.force_login(district_admin)
    page = client.get(reverse("screening:campaign", args=[campaign.pk])).content.decode()
    row_a = page[page.index("华阳路街道") :].split("</tr>")[0]
    row_b = page[page.index("新泾镇") :].split("</tr>")[0]
    foot = page[page.index("<tfoot>") :].split("</tfoot>")[0]
    assert "<td>12</td><td>7</td><td>6</td><td>58%</td>" in row_a
    assert "<td>9</td><td>5</td><td>0</td><td>56%</td>" in row_b
    assert "<th>21</th><th>12</th><th>6</th><th>57%</th>" in foot
    # Drill down to the town, then the village: the grid rows.
    page = client.get(
        reverse("screening:campaign", args=[campaign.pk]) + f"?area={areas['village_a'].code}"
    ).content.decode()
    assert "安顺居委会第1网格" in page and "<td>12</td><td>7</td><td>6</td><td>58%</td>" in page


def test_it_404s_campaigns_for_non_admins(client, counsellor, district_admin, areas):
    campaign = make_campaign(areas, district_admin)
    client.force_login(counsellor)
    assert client.get(reverse("screening:campaign", args=[campaign.pk])).status_code == 404
    assert client.get(reverse("screening:campaigns")).status_code == 404


def test_it_404s_a_campaign_of_another_town(client, town_admin, district_admin, areas):
    campaign = make_campaign(areas, district_admin, area=areas["town_b"])
    client.force_login(town_admin)
    assert client.get(reverse("screening:campaign", args=[campaign.pk])).status_code == 404


def test_it_sends_invited_residents_to_the_campaigns_scales(client, district_admin, areas):
    campaign = make_campaign(areas, district_admin, area=areas["town_a"])
    with time_machine.travel(dt.datetime(2026, 10, 1, 12, 0), tick=False):
        response = client.get(reverse("screening:campaign_landing", args=[campaign.token]))
        page = client.get(response.url).content.decode()
        assert campaign.name in page and f"?c={campaign.token}" in page
        client.post(
            reverse("screening:consent", args=["PHQ-9"]), {"agree": "1", "c": campaign.token}
        )
        for _n in range(9):
            client.post(reverse("screening:question", args=["PHQ-9"]), {"answer": "0"})
    a = campaign.assessments.get()
    assert a.area_code == areas["town_a"].code and a.person is None
