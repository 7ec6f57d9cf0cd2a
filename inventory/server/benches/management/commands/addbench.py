"""``weee manage addbench --name NAME --public-key-file F``: register a bench.

Prints ``{"bench_id", "token"}`` as JSON; the token is shown only here (its hash is kept).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from inventory.server.benches.models import Bench
from inventory.signing import parse_public_key


class Command(BaseCommand):
    help = "Register a bench and its Ed25519 public key; print its id and API token (JSON)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", required=True)
        parser.add_argument(
            "--public-key-file",
            required=True,
            help="the bench's Ed25519 public key: base64 of the raw 32 bytes, or PEM",
        )
        parser.add_argument("--organisation", default="")
        parser.add_argument("--location", default="")
        parser.add_argument(
            "--new-token",
            action="store_true",
            help="the bench exists with this key: give it a new token (the old one stops)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["public_key_file"])
        try:
            raw = parse_public_key(path.read_bytes())
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc.strerror}") from None
        except ValueError as exc:
            raise CommandError(f"{path}: {exc}") from None
        name = options["name"].strip()
        if not name:
            raise CommandError("--name must not be empty")
        with transaction.atomic():
            bench = Bench(
                name=name, organisation=options["organisation"], location=options["location"]
            )
            bench.set_public_key(raw)
            existing = Bench.objects.filter(key_id=bench.key_id).first()
            if existing is not None:
                if not options["new_token"] or existing.name != name:
                    raise CommandError(
                        f"this key is already registered for bench {existing.name!r} "
                        f"(id {existing.key_id}); use --new-token with that name to replace "
                        "its token"
                    )
                bench = existing
            elif Bench.objects.filter(name=name).exists():
                raise CommandError(f"a bench named {name!r} exists with another key")
            token = bench.new_token()
            bench.save()
        self.stdout.write(json.dumps({"bench_id": bench.key_id, "token": token}))
