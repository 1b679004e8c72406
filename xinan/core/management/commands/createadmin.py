"""`xinan createadmin USERNAME`: a sysadmin account (Django admin access) for a new deployment."""

import getpass

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from xinan.accounts import services
from xinan.accounts.models import Role, User
from xinan.core import audit


class Command(BaseCommand):
    help = "Create a system administrator (sysadmin role, Django admin access)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--password", help="for scripts; prompted for when omitted")

    def handle(self, *args, username, password=None, **options):
        if User.objects.filter(username=username).exists():
            raise CommandError(f"用户 {username} 已存在")
        if password is None:
            password = getpass.getpass("密码 / Password: ")
            if password != getpass.getpass("再次输入 / Again: "):
                raise CommandError("两次输入的密码不一致")
        user = User(username=username)
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise CommandError("；".join(exc.messages)) from None
        with transaction.atomic():
            user = User.objects.create_superuser(username=username, password=password)
            # The operator at the console (actor None): audited as "system".
            audit.record("accounts.user.create", user, actor=None, changed_fields=["username"])
            services.add_membership(user, role=Role.SYSADMIN, actor=None)
        self.stdout.write(self.style.SUCCESS(f"已创建系统管理员 {username}"))
