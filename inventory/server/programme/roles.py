"""The roles, as Django groups whose permissions this code defines.

- technician: benches and their keys, bench runs (records), laptops (read only);
- coordinator: donors, batches, trainees, cohorts, stock, allocations, tickets, reports;
  laptops (read, and notes/status moves through allocations and tickets);
- donor: no admin access at all; the donor pages show its own batches' certificates
  (``Donor.users``);
- admin: a Django superuser.
"""

from __future__ import annotations

from typing import Any

ROLE_TECHNICIAN = "technician"
ROLE_COORDINATOR = "coordinator"
ROLE_DONOR = "donor"
ROLES = (ROLE_TECHNICIAN, ROLE_COORDINATOR, ROLE_DONOR)

_PERMISSIONS: dict[str, list[str]] = {
    ROLE_TECHNICIAN: [
        "benches.view_bench",
        "benches.add_bench",
        "benches.change_bench",
        "benches.view_rejectedupload",
        "devices.view_device",
        "devices.view_record",
        "devices.view_deviceevent",
    ],
    ROLE_COORDINATOR: [
        *(
            f"programme.{action}_{model}"
            for model in (
                "donor",
                "batch",
                "cohort",
                "trainee",
                "accessory",
                "allocation",
                "maintenanceticket",
            )
            for action in ("view", "add", "change")
        ),
        "programme.view_reports",
        "devices.view_device",
        "devices.change_device",
        "devices.view_record",
        "devices.view_deviceevent",
    ],
    ROLE_DONOR: [],
}


def ensure_roles(sender: Any = None, **kwargs: Any) -> None:
    from django.contrib.auth.models import Group, Permission

    for role, names in _PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        wanted = []
        for name in names:
            app_label, codename = name.split(".")
            perm = Permission.objects.filter(
                content_type__app_label=app_label, codename=codename
            ).first()
            if perm is not None:  # absent only mid-migration, before the app's tables
                wanted.append(perm)
        group.permissions.set(wanted)
