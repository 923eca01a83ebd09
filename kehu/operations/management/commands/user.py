"""``kehu user create``: a user, optionally made a member of a workspace with a role."""

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils.translation import gettext as _

from kehu.core.errors import DomainError
from kehu.users.models import User
from kehu.workspaces import services
from kehu.workspaces.permissions import SYSTEM_ROLES

from ._common import choose_password, domain_errors, get_workspace, in_scope, owner_actor


class Command(BaseCommand):
    help = "Create users."

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True)
        create = actions.add_parser("create", help="Create a user (and add them to a workspace).")
        create.add_argument("--email", required=True)
        create.add_argument("--name", default="")
        create.add_argument(
            "--password", default=None, help="Prompted for when omitted; generated with --no-input."
        )
        create.add_argument("--workspace", default="", help="Short name of a workspace to add the user to.")
        create.add_argument(
            "--role", default="sales", help=f"Role key in that workspace ({', '.join(SYSTEM_ROLES)})."
        )
        create.add_argument("--superuser", action="store_true", help="Also a Django superuser (admin site).")
        create.add_argument("--no-input", action="store_false", dest="interactive", help="Never prompt.")

    def handle(self, *args, **options):
        email = User.objects.normalize_email(options["email"]).lower()
        if "@" not in email:
            raise CommandError(_("Give a valid email address."))
        workspace = get_workspace(options["workspace"]) if options["workspace"] else None
        with transaction.atomic():
            user = User.objects.filter(email=email).first()
            generated = None
            if user is None:
                password, was_generated = choose_password(
                    options["password"], User(email=email, name=options["name"]),
                    interactive=options["interactive"],
                )
                user = User.objects.create_user(
                    email=email, password=password, name=options["name"],
                    is_staff=options["superuser"], is_superuser=options["superuser"],
                )
                generated = password if was_generated else None
                self.stdout.write(self.style.SUCCESS(_("Created user %(email)s.") % {"email": email}))
            elif not workspace:
                raise CommandError(_("A user with this email exists."))
            if workspace is not None:
                with in_scope(workspace):
                    try:
                        services.add_member(owner_actor(workspace), user, options["role"])
                    except DomainError as exc:
                        raise domain_errors(exc) from None
                self.stdout.write(self.style.SUCCESS(
                    _("Added %(email)s to %(workspace)s as %(role)s.")
                    % {"email": email, "workspace": workspace.slug, "role": options["role"]}
                ))
        if generated:
            self.stdout.write(_("Password of %(email)s (shown once): %(password)s")
                              % {"email": email, "password": generated})
