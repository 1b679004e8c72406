"""Demo accounts of this app: a second system administrator, and a new counsellor's
membership that the first one asked for and that waits for the second's approval (so both
see the approval queue on their workbench). Idempotent."""

from xinan.accounts import services
from xinan.accounts.models import Membership, Role, User
from xinan.core.models import Area
from xinan.people.demo import DEMO_PASSWORD


def build_demo(*, seed: int, stdout) -> None:
    second, created = User.objects.get_or_create(
        username="sysadmin2", defaults={"display_name": "系统管理员（复核）"}
    )
    if created:
        second.set_password(DEMO_PASSWORD)
        second.is_staff = second.is_superuser = True
        second.save()
        services.add_membership(second, role=Role.SYSADMIN, actor=None)
    first = User.objects.filter(username="sysadmin").first()
    town = Area.objects.filter(code="310105001000").first()
    if first is None or town is None:
        return
    newcomer, created = User.objects.get_or_create(
        username="counsellor_new", defaults={"display_name": "心理咨询师 林晓（新入职）"}
    )
    if created:
        newcomer.set_password(DEMO_PASSWORD)
        newcomer.save()
    if not Membership.objects.filter(user=newcomer).exists():
        services.add_membership(newcomer, role=Role.COUNSELLOR, area=town, actor=first)
    stdout.write("账号演示：sysadmin2（复核管理员），counsellor_new 的角色待审批")
