"""``kehu apikey create|revoke``: API keys from the command line (the secret is printed once)."""

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django_scopes import scopes_disabled

from kehu.core.errors import DomainError
from kehu.users.models import User
from kehu.workspaces import services
from kehu.workspaces.models import ApiKey

from ._common import domain_errors, get_workspace, in_scope, owner_actor


class Command(BaseCommand):
    help = "Create or revoke API keys."

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True)
        create = actions.add_parser("create", help="Create a key acting as a member; prints it once.")
        create.add_argument("--workspace", required=True, help="Short name of the workspace.")
        create.add_argument("--user", required=True, help="Email of the member the key acts as.")
        create.add_argument("--name", default="", help="What the key is for (default: cli).")
        revoke = actions.add_parser("revoke", help="Revoke a key by its prefix.")
        revoke.add_argument("--prefix", required=True, help="The 8 characters after kehu_ in the key.")

    def handle(self, *args, **options):
        if options["action"] == "create":
            self.create(options)
        else:
            self.revoke(options["prefix"])

    def create(self, options):
        workspace = get_workspace(options["workspace"])
        user = User.objects.filter(email=options["user"].strip().lower()).first()
        if user is None:
            raise CommandError(_("No user with the email %(email)s.") % {"email": options["user"]})
        with in_scope(workspace):
            try:
                actor = owner_actor(workspace)
                key, raw = services.create_api_key(actor, options["name"] or "cli", user=user)
            except DomainError as exc:
                raise domain_errors(exc) from None
        self.stderr.write(_("API key %(prefix)s for %(email)s in %(workspace)s. It is shown only now:")
                          % {"prefix": key.prefix, "email": user.email, "workspace": workspace.slug})
        # The key alone on stdout, so scripts can capture it: KEY=$(kehu apikey create …).
        self.stdout.write(raw)

    def revoke(self, prefix: str):
        prefix = prefix.strip().removeprefix(services.API_KEY_PREFIX).split("_", 1)[0]
        with scopes_disabled():
            key = ApiKey.objects.select_related("workspace").filter(prefix=prefix).first()
        if key is None:
            raise CommandError(_("No API key with the prefix %(prefix)s.") % {"prefix": prefix})
        with in_scope(key.workspace):
            services.revoke_api_key(owner_actor(key.workspace), key)
        self.stdout.write(self.style.SUCCESS(_("Revoked API key %(prefix)s.") % {"prefix": prefix}))
