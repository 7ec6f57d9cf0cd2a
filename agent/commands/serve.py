"""``weee serve`` (the programme database behind gunicorn) and ``weee manage`` (Django's
management commands: ``weee manage addbench ...``, ``weee manage createsuperuser``)."""

from __future__ import annotations

import os
import sys

import click

from agent.errors import UnavailableError, UsageError

SETTINGS = "inventory.server.settings"


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", SETTINGS)
    try:
        import django
    except ImportError:  # the bench image ships without the server's dependencies
        raise UnavailableError(
            "the programme database needs Django: pip install 'weee' with its server deps"
        ) from None
    django.setup()


@click.command(
    context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False},
    add_help_option=False,
)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def manage(args: tuple[str, ...]) -> None:
    """Run a Django management command of the programme database (e.g. addbench)."""
    _setup_django()
    from django.core.management import execute_from_command_line

    execute_from_command_line(["weee manage", *args])


def _parse_bind(bind: str) -> str:
    if bind.startswith("fd://") and bind[5:].isdigit():
        return bind  # a listening socket handed over by the parent (weee demo, tests)
    host, sep, port = bind.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise UsageError(f"--bind {bind!r}: expected HOST:PORT, e.g. 127.0.0.1:8000")
    return bind


@click.command()
@click.option(
    "--bind",
    default="127.0.0.1:8000",
    show_default=True,
    help="HOST:PORT to listen on (or fd://N: a listening socket inherited from the parent)",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=None,
    help="gunicorn worker processes [default: 2 x CPUs + 1, at most 8]",
)
@click.option("--no-migrate", is_flag=True, help="Do not apply database migrations first.")
def serve(bind: str, workers: int | None, no_migrate: bool) -> None:
    """Run the programme database: apply migrations, then serve with gunicorn.

    SQLite under WEEE_DATA_DIR by default; PostgreSQL with WEEE_DATABASE_URL.
    """
    bind = _parse_bind(bind)
    _setup_django()
    from django.core.management import call_command
    from django.db import connection
    from django.db.utils import OperationalError

    db = connection.settings_dict
    try:
        if not no_migrate:
            call_command("migrate", interactive=False, verbosity=0)
        else:
            connection.ensure_connection()
    except OperationalError as exc:
        raise UnavailableError(
            f"cannot use the database {db['NAME']} ({db['ENGINE'].rsplit('.', 1)[-1]}): "
            f"{str(exc).strip().splitlines()[0]}"
        ) from None
    click.echo(f"weee serve: {db['ENGINE'].rsplit('.', 1)[-1]} database {db['NAME']}", err=True)
    connection.close()  # never share the migrate connection with forked workers

    from gunicorn.app.base import BaseApplication

    count = workers or min(8, 2 * (os.cpu_count() or 1) + 1)

    class _Server(BaseApplication):
        def load_config(self) -> None:
            self.cfg.set("bind", bind)
            self.cfg.set("workers", count)
            self.cfg.set("accesslog", "-")
            self.cfg.set("timeout", 60)
            self.cfg.set("graceful_timeout", 10)
            # gunicorn 27's control socket is one per user ($HOME/.gunicorn/gunicorn.ctl):
            # two weee serve at once (the demo beside a running server, tests) would fight
            # over it, and weee serve has no use for it.
            if "control_socket_disable" in self.cfg.settings:
                self.cfg.set("control_socket_disable", True)

        def load(self) -> object:
            from inventory.server.wsgi import application

            return application

    click.echo(
        f"weee serve: listening on {bind if bind.startswith('fd://') else 'http://' + bind} "
        f"with {count} workers; admin at /admin/ "
        "(first account: weee manage adduser NAME --role admin)",
        err=True,
    )
    sys.argv = ["weee serve"]  # gunicorn parses sys.argv for its own options
    _Server().run()
