"""`xinan demo`: build the 上海市长宁区 demo (safe to re-run)."""

from django.core.management.base import BaseCommand

from xinan.people import demo
from xinan.people.models import Person


class Command(BaseCommand):
    help = "Build the demo district 上海市长宁区 (310105): areas, institutions, users, residents."

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=2019)
        parser.add_argument("--residents", type=int, default=20_000)
        parser.add_argument(
            "--if-empty", action="store_true", help="do nothing when residents already exist"
        )

    def handle(self, *args, seed, residents, if_empty, **options):
        if if_empty and Person.objects.exists():
            self.stdout.write("演示数据已存在，跳过 / demo data present, skipped")
            return
        summary = demo.build(seed=seed, residents=residents)
        self.stdout.write(
            self.style.SUCCESS(
                f"演示数据就绪：区划 {summary.areas}，机构 {summary.institutions}，"
                f"演示账号 {summary.users + 1}，新增居民 {summary.residents_created}"
                f"（演示密码 {demo.DEMO_PASSWORD}）"
            )
        )
