"""Issue an API token for the staff API (SPEC F11); the raw token is printed once."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from orderdesk.organizations.models import ApiToken, Checkout, CheckoutRole, User


class Command(BaseCommand):
    help = "Issue an API token for one checkout with a checkout role; prints the token once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--checkout", required=True, help="The checkout's slug.")
        parser.add_argument(
            "--organization", default="", help="The organization's slug, if checkout slugs repeat."
        )
        parser.add_argument("--name", required=True, help="What the token is for, e.g. 'CRM sync'.")
        parser.add_argument(
            "--role",
            default=CheckoutRole.VIEWER,
            choices=CheckoutRole.values,
            help="The token's checkout role (default viewer: read only).",
        )
        parser.add_argument(
            "--created-by", default="", help="Email of the staff member issuing it."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        checkouts = Checkout.objects.filter(slug=options["checkout"]).select_related("organization")
        if options["organization"]:
            checkouts = checkouts.filter(organization__slug=options["organization"])
        found = list(checkouts[:2])
        if not found:
            slugs = ", ".join(Checkout.objects.order_by("slug").values_list("slug", flat=True))
            raise CommandError(
                f"No checkout {options['checkout']!r}; checkouts: {slugs or 'none'}."
            )
        if len(found) > 1:
            raise CommandError("Several organizations have that checkout: add --organization.")
        checkout = found[0]
        created_by = None
        if options["created_by"]:
            created_by = User.objects.filter(email=options["created_by"].lower()).first()
            if created_by is None:
                raise CommandError(f"No user {options['created_by']!r}.")
        name = options["name"].strip()[:100]
        if not name:
            raise CommandError("Give the token a name.")
        token, raw = ApiToken.issue(
            checkout=checkout, name=name, role=options["role"], created_by=created_by
        )
        self.stderr.write(
            f"Issued {token} ({token.get_role_display()} on {checkout}). "
            "Keep it secret: it is shown only now."
        )
        self.stdout.write(raw)
