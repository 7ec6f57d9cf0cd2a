from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProgrammeConfig(AppConfig):
    name = "inventory.server.programme"
    label = "programme"
    verbose_name = _("Programme")

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from inventory.server.programme.roles import ensure_roles

        # the role groups and their permissions are data the code defines: re-applied on
        # every migrate, so a new permission reaches existing installs
        post_migrate.connect(ensure_roles, sender=self)
