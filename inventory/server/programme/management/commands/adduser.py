"""``weee manage adduser NAME --role ROLE``: an account for a technician, a coordinator,
a donor (``--donor "Ville de Lyon"``) or an admin.

The password is read from stdin with ``--password-stdin``, else one is generated and
printed once. Prints JSON ``{"username", "role", "password"?}``.
"""

from __future__ import annotations

import json
import secrets
import sys
from typing import Any

from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from inventory.server.programme.models import Donor
from inventory.server.programme.roles import ROLE_DONOR, ROLES, ensure_roles

ADMIN = "admin"


class Command(BaseCommand):
    help = "Create an account with a role (technician, coordinator, donor, admin)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=[*ROLES, ADMIN])
        parser.add_argument("--donor", help="the donor's name (role donor): created if new")
        parser.add_argument("--email", default="")
        parser.add_argument(
            "--password-stdin", action="store_true", help="read the password from stdin"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        role = options["role"]
        if role == ROLE_DONOR and not options["donor"]:
            raise CommandError('a donor account needs --donor "NAME"')
        if role != ROLE_DONOR and options["donor"]:
            raise CommandError("--donor is only for --role donor")
        if User.objects.filter(username=options["username"]).exists():
            raise CommandError(f"user {options['username']!r} already exists")
        generated = not options["password_stdin"]
        password = secrets.token_urlsafe(12) if generated else sys.stdin.readline().strip()
        if not password:
            raise CommandError("empty password on stdin")
        ensure_roles()
        with transaction.atomic():
            user = User.objects.create_user(
                options["username"],
                email=options["email"],
                password=password,
                is_staff=role != ROLE_DONOR,  # donors never enter the admin
                is_superuser=role == ADMIN,
            )
            if role in ROLES:
                user.groups.add(Group.objects.get(name=role))
            if role == ROLE_DONOR:
                donor, _ = Donor.objects.get_or_create(name=options["donor"].strip())
                donor.users.add(user)
        out: dict[str, str] = {"username": user.username, "role": role}
        if generated:
            out["password"] = password
        self.stdout.write(json.dumps(out))
