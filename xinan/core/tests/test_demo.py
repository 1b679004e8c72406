"""The access-grant demo gives the area admins' review page work, once."""

import io

import pytest

from xinan.core import demo as core_demo
from xinan.core.models import AccessGrant
from xinan.people import demo


@pytest.mark.django_db
def test_the_demo_leaves_one_grant_to_review_and_one_reviewed_and_is_safe_to_rerun(client):
    demo.build(seed=7, residents=300)
    out = io.StringIO()
    core_demo.build_demo(seed=7, stdout=out)
    core_demo.build_demo(seed=7, stdout=out)
    grants = AccessGrant.objects.order_by("created_at")
    assert grants.count() == 2
    old, new = grants
    assert new.is_active() and new.reviewed_at is None and new.area_code.startswith("310105001")
    assert not old.is_active() and old.review_outcome == "justified"
    client.login(username="town_admin", password=demo.DEMO_PASSWORD)
    page = client.get("/break-glass/").content.decode()
    assert "居民家属来电称其走失" in page  # waiting for this admin's review
    assert "心理援助热线转来" not in page  # 新泾镇's resident: another town's admin
