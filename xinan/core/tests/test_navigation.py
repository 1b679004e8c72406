"""Navigation by role: registered entries show for the roles they name, and only those."""

import pytest

from xinan.core import navigation


@pytest.fixture
def audit_entry():
    saved = dict(navigation._registry)
    navigation.register("测试页面", "audit_log", roles={"counsellor"}, order=5)
    yield
    navigation._registry.clear()
    navigation._registry.update(saved)


def test_it_shows_an_entry_to_a_role_it_names(client, counsellor, audit_entry):
    client.force_login(counsellor)
    page = client.get("/workbench/").content.decode()
    assert 'href="/audit/">测试页面</a>' in page


def test_it_hides_an_entry_from_other_roles(client, grid_worker, audit_entry):
    client.force_login(grid_worker)
    assert "测试页面" not in client.get("/workbench/").content.decode()


def test_it_orders_entries_and_skips_unmounted_urls(counsellor, audit_entry):
    navigation.register("后面", "workbench", roles={"counsellor"}, order=90)
    navigation.register("不存在", "nowhere:list", roles={"counsellor"}, order=1)
    shown = [e["label"] for e in navigation.entries_for(counsellor)]
    assert shown[:1] == ["测试页面"] and shown[-1] == "后面" and "不存在" not in shown


def test_it_refuses_an_entry_without_roles():
    with pytest.raises(ValueError):
        navigation.register("无角色", "workbench", roles=(), order=1)
