"""`xinan api_token issue USERNAME NAME [--days N]` | `list` | `revoke PREFIX`."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from xinan.api import services
from xinan.api.models import ApiToken


class Command(BaseCommand):
    help = "Issue, list or revoke API tokens (the key is printed once, at issue)."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        issue = sub.add_parser("issue")
        issue.add_argument("username")
        issue.add_argument("name", help="what the token is for")
        issue.add_argument("--days", type=int, default=None)
        sub.add_parser("list")
        revoke = sub.add_parser("revoke")
        revoke.add_argument("prefix")

    def handle(self, *args, action, **options):
        if action == "issue":
            try:
                user = get_user_model().objects.get(username=options["username"])
            except get_user_model().DoesNotExist:
                raise CommandError(f"no user {options['username']}") from None
            try:
                token, key = services.issue(user, options["name"], days=options["days"])
            except services.TokenError as exc:
                raise CommandError(exc.message) from None
            self.stdout.write(key)
        elif action == "list":
            for t in ApiToken.objects.select_related("user"):
                state = "revoked" if t.revoked_at else "active"
                self.stdout.write(f"{t.prefix}\t{t.user.username}\t{t.name}\t{state}")
        else:
            tokens = list(ApiToken.objects.filter(prefix=options["prefix"]))
            if len(tokens) != 1:
                raise CommandError(f"{len(tokens)} tokens match {options['prefix']}")
            services.revoke(tokens[0])
            self.stdout.write(f"revoked {tokens[0].prefix}")
