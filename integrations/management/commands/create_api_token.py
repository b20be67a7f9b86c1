from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from integrations.tokens import token_create


class Command(BaseCommand):
    help = (
        "Create an API token for USERNAME. The token is printed once, alone on the last line; keep it secret."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument(
            "--name", default="API token", help="What the token is for, such as 'HubSpot sync'."
        )

    def handle(self, *args, **options):
        user = get_user_model().objects.filter(username=options["username"], is_active=True).first()
        if user is None:
            raise CommandError(f"No active user {options['username']!r}.")
        token, raw = token_create(user=user, name=options["name"])
        self.stdout.write(
            f"Created token {token.name!r} ({token.prefix}…) for {user.username}. It is shown only now:"
        )
        self.stdout.write(raw)
