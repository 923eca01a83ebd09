"""``kehu workspace create|list|export|import``: workspaces from the command line (audited like the UI)."""

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.db.models import Count
from django.utils.translation import gettext as _
from django_scopes import scopes_disabled

from kehu.core.errors import DomainError
from kehu.users.models import User
from kehu.workspaces import services
from kehu.workspaces.models import Membership, Workspace

from ._common import choose_password, domain_errors, get_workspace, owner_actor, table


class Command(BaseCommand):
    help = "Create or list workspaces."

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True)
        create = actions.add_parser("create", help="Create a workspace with an owner.")
        create.add_argument("--name", required=True)
        create.add_argument("--slug", default="", help="Short name used in URLs (default: from the name).")
        create.add_argument("--owner", required=True, help="Owner's email; the user is created if missing.")
        create.add_argument("--owner-name", default="", help="Name of a new owner user.")
        create.add_argument("--password", default=None, help="Password of a new owner user.")
        create.add_argument("--region", default="CN", help="Default phone region (ISO 3166, e.g. CN, US).")
        create.add_argument("--currency", default="CNY", help="Base currency (ISO 4217).")
        create.add_argument("--language", default="zh-hans", help="Default language (zh-hans or en).")
        create.add_argument("--time-zone", default="Asia/Shanghai")
        create.add_argument("--no-input", action="store_false", dest="interactive", help="Never prompt.")
        actions.add_parser("list", help="List workspaces.")
        export = actions.add_parser(
            "export", help="Export a whole workspace to a zip (docs/export-format.md)."
        )
        export.add_argument("slug")
        export.add_argument("-o", "--output", required=True, help="The zip file to write.")
        load = actions.add_parser("import", help="Load an export into a new (or empty) workspace.")
        load.add_argument("file")
        load.add_argument(
            "--slug", default="", help="Short name of the new workspace (default: the exported one)."
        )

    def handle(self, *args, **options):
        if options["action"] == "create":
            self.create(options)
        elif options["action"] in ("export", "import"):
            self.portability(options)
        else:
            self.list()

    def portability(self, options):
        from pathlib import Path

        from kehu.portability.cli import export_to_file, import_from_file

        try:
            if options["action"] == "export":
                workspace = get_workspace(options["slug"])
                export_to_file(workspace, Path(options["output"]), owner_actor(workspace), self.stderr)
            else:
                path = Path(options["file"])
                if not path.is_file():
                    raise CommandError(_("No such file: %(path)s") % {"path": path})
                workspace, _counts = import_from_file(path, options["slug"], self.stderr)
                self.stdout.write(self.style.SUCCESS(
                    _("Workspace %(slug)s is ready.") % {"slug": workspace.slug}
                ))
        except DomainError as exc:
            raise domain_errors(exc) from None

    def create(self, options):
        email = User.objects.normalize_email(options["owner"]).lower()
        if not email or "@" not in email:
            raise CommandError(_("Give the owner's email address."))
        generated = None
        with transaction.atomic():
            owner = User.objects.filter(email=email).first()
            if owner is None:
                password, was_generated = choose_password(
                    options["password"], User(email=email, name=options["owner_name"]),
                    interactive=options["interactive"],
                )
                owner = User.objects.create_user(email=email, password=password, name=options["owner_name"])
                generated = password if was_generated else None
                self.stdout.write(_("Created user %(email)s.") % {"email": email})
            try:
                workspace = services.create_workspace(
                    options["name"], owner, slug=options["slug"],
                    default_region=options["region"].upper(), base_currency=options["currency"].upper(),
                    default_language=options["language"].lower(), time_zone=options["time_zone"],
                )
            except DomainError as exc:
                raise domain_errors(exc) from None
        self.stdout.write(self.style.SUCCESS(
            _("Created workspace %(name)s (%(slug)s), owner %(email)s.")
            % {"name": workspace.name, "slug": workspace.slug, "email": owner.email}
        ))
        if generated:
            self.stdout.write(_("Password of %(email)s (shown once): %(password)s")
                              % {"email": owner.email, "password": generated})

    def list(self):
        rows = []
        with scopes_disabled():
            counts = dict(
                Membership.objects.filter(is_active=True).values("workspace_id")
                .annotate(n=Count("id")).values_list("workspace_id", "n")
            )
        for ws in Workspace.objects.order_by("slug"):
            rows.append([ws.slug, ws.name, str(counts.get(ws.pk, 0)), ws.default_region, ws.base_currency,
                         ws.created_at.date().isoformat()])
        if not rows:
            self.stdout.write(
                _("No workspaces yet. Create one with: kehu workspace create --name … --owner …")
            )
            return
        self.stdout.write(table(
            [_("Short name"), _("Name"), _("Members"), _("Region"), _("Currency"), _("Created")], rows
        ))
