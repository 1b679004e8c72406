"""Task kinds made only by their own path: no TaskRule and no worker makes a crisis callback (or
an escalation); only a crisis callback may lack a person, in the database too; and the two
callback kinds say which is which."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from xinan.cases import forms, services
from xinan.cases.models import Task, TaskKind, TaskRule

REFUSED = "危机回电只能由热线高危来电或居民回电请求生成"


def _rule(**overrides) -> TaskRule:
    fields = {
        "key": "callback-rule",
        "name": "预警后回电",
        "trigger": "positive_screen",
        "kind": TaskKind.CRISIS_CALLBACK,
        "due_hours": 1,
    }
    return TaskRule(**{**fields, **overrides})


def test_a_rule_of_kind_crisis_callback_is_refused_with_a_chinese_message(db):
    with pytest.raises(ValidationError) as refused:
        _rule().full_clean()
    assert REFUSED in refused.value.message_dict["kind"][0]
    _rule(kind=TaskKind.CALLBACK).full_clean()  # a worker's call back is fine as a rule


def test_the_admin_refuses_a_crisis_callback_rule(client, sysadmin):
    client.force_login(sysadmin)
    data = {
        "key": "callback-rule",
        "name": "预警后回电",
        "trigger": "positive_screen",
        "kind": "crisis_callback",
        "due_hours": "1",
        "due_days": "0",
        "assign_to": "responsible",
        "role": "",
        "instrument": "",
        "active": "on",
    }
    page = client.post(reverse("admin:cases_taskrule_add"), data)
    assert page.status_code == 200 and REFUSED in page.text
    assert not TaskRule.objects.filter(key="callback-rule").exists()
    client.post(reverse("admin:cases_taskrule_add"), {**data, "kind": "callback"})
    assert TaskRule.objects.get(key="callback-rule").kind == TaskKind.CALLBACK


def test_a_worker_cannot_add_a_crisis_callback_to_a_case(case_a, counsellor):
    offered = dict(forms.TaskForm().fields["kind"].choices)
    assert "crisis_callback" not in offered and "escalation" not in offered
    assert offered["callback"] == "回电联系"
    with pytest.raises(services.CaseError) as refused:
        services.add_task(
            case_a,
            actor=counsellor,
            kind=TaskKind.CRISIS_CALLBACK,
            title="回电",
            due_at=timezone.now() + dt.timedelta(hours=1),
        )
    assert REFUSED in refused.value.message
    assert not Task.objects.filter(kind=TaskKind.CRISIS_CALLBACK).exists()


def _task(kind: str, person) -> Task:
    return Task(
        kind=kind,
        title="待办",
        person=person,
        due_at=timezone.now() + dt.timedelta(hours=1),
        area_code="310105001001",
    )


@pytest.mark.parametrize("kind", [k for k in TaskKind.values if k != "crisis_callback"])
def test_only_a_crisis_callback_may_lack_a_person(db, kind):
    task = _task(kind, None)
    with pytest.raises(ValidationError) as refused:
        task.full_clean()
    assert "只有危机回电可以没有对应的居民" in str(refused.value)
    with pytest.raises(IntegrityError), transaction.atomic():
        task.save()
    _task(TaskKind.CRISIS_CALLBACK, None).save()  # an anonymous caller's number
    assert list(Task.objects.values_list("kind", flat=True)) == ["crisis_callback"]


def test_the_two_callback_kinds_say_which_is_which():
    assert TaskKind.CALLBACK.label == "回电联系"
    assert TaskKind.CRISIS_CALLBACK.label == "危机回电"
