"""The ``weee`` command.

Each subcommand lives in its own module under ``agent.commands`` and is imported only
when it is called, so ``weee probe`` on a bench stick does not pay for Django or
reportlab, and a broken optional part cannot take the whole command down.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging

import click

from agent import __version__

# name -> "module:attribute" of a click command
SUBCOMMANDS: dict[str, str] = {
    "probe": "agent.commands.probe:probe",
    "capture": "agent.commands.capture:capture",
    "check": "agent.commands.check:check",
    "wipe": "agent.commands.wipe:wipe",
    "image": "agent.commands.image:image",
    "run": "agent.commands.run:run",
    "bench": "agent.commands.bench:bench",
    "verify": "agent.commands.verify:verify",
    "certificate": "agent.commands.certificate:certificate",
    "label": "agent.commands.label:label",
    "sync": "agent.commands.sync:sync",
    "serve": "agent.commands.serve:serve",
    "manage": "agent.commands.serve:manage",
    "demo": "agent.commands.demo:demo",
}


def _available(name: str) -> bool:
    module = SUBCOMMANDS[name].split(":", 1)[0]
    return importlib.util.find_spec(module) is not None


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(n for n in SUBCOMMANDS if _available(n))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = SUBCOMMANDS.get(cmd_name)
        if target is None or not _available(cmd_name):
            return None
        module_name, attr = target.split(":", 1)
        command = getattr(importlib.import_module(module_name), attr)
        assert isinstance(command, click.Command)
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="weee")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
def main(verbose: int) -> None:
    """weee: probe, check, wipe, image and certify refurbished laptops."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
