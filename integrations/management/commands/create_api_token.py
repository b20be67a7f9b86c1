from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from integrations.tokens import DEFAULT_SCOPES, SCOPES, TokenError, token_create


class Command(BaseCommand):
    help = (
        "Create an API token for USERNAME. The token is printed once, alone on the last line; keep it secret."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument(
            "--name", default="API token", help="What the token is for, such as 'HubSpot sync'."
        )
        parser.add_argument(
            "--scopes",
            default=",".join(DEFAULT_SCOPES),
            help=f"Comma-separated, of {', '.join(SCOPES)} (erase: admins only). Default: %(default)s.",
        )
        parser.add_argument(
            "--expires-days", type=int, default=None, help="Days until it stops working; default: never."
        )

    def handle(self, *args, **options):
        user = get_user_model().objects.filter(username=options["username"], is_active=True).first()
        if user is None:
            raise CommandError(f"No active user {options['username']!r}.")
        scopes = [scope.strip() for scope in options["scopes"].split(",") if scope.strip()]
        try:
            token, raw = token_create(
                user=user, name=options["name"], scopes=scopes, expires_in_days=options["expires_days"]
            )
        except TokenError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(
            f"Created token {token.name!r} ({token.prefix}…) for {user.username}. It is shown only now:"
        )
        self.stdout.write(raw)
