"""`xinan demo`: build the 上海市长宁区 demo (safe to re-run)."""

import importlib
import importlib.util

from django.apps import apps
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
        # Then each other app's own demo (its `demo.py` with `build_demo(seed=…, stdout=…)`), in
        # INSTALLED_APPS order: cases before smd, network before booking.
        for config in apps.get_app_configs():
            module_name = f"{config.name}.demo"
            if config.name == "xinan.people" or importlib.util.find_spec(module_name) is None:
                continue
            builder = getattr(importlib.import_module(module_name), "build_demo", None)
            if builder is not None:
                builder(seed=seed, stdout=self.stdout)
        self.stdout.write(
            self.style.SUCCESS(
                f"演示数据就绪：区划 {summary.areas}，机构 {summary.institutions}，"
                f"演示账号 {summary.users + 1}，新增居民 {summary.residents_created}"
                f"（演示密码 {demo.DEMO_PASSWORD}）"
            )
        )
