"""The `customer-session-mock` command line: serve, fixtures, contract, proxy, verify-traffic.

`contract`, `proxy` and `verify-traffic` are imported only when they run: they bring the
contract harness (Schemathesis, pytest, an HTTP client), which serving the mock never needs.
"""

from __future__ import annotations

import importlib
from typing import Any

import click

from mock_server.cli.fixtures import fixtures
from mock_server.cli.serve import serve

# Commands whose module is imported when they run (or when their help is shown).
LAZY_COMMANDS = {
    "contract": (
        "contract_tests.cli",
        "contract",
        "Check a server against openapi.yaml and the rules.",
    ),
    "proxy": (
        "contract_tests.proxy_cli",
        "proxy",
        "Forward to a server, checking its traffic against the contract.",
    ),
    "verify-traffic": (
        "contract_tests.proxy_cli",
        "verify_traffic",
        "Check saved traffic (HAR, journal) against the contract.",
    ),
}


class LazyGroup(click.Group):
    """A click group that imports some commands only when they are asked for."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *LAZY_COMMANDS])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in LAZY_COMMANDS:
            module_name, attribute, _ = LAZY_COMMANDS[cmd_name]
            command: click.Command = getattr(importlib.import_module(module_name), attribute)
            return command
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # The command list without importing the lazy ones: their one-line help is kept here.
        rows = [(name, help_text) for name, (_, _, help_text) in LAZY_COMMANDS.items()]
        for name in super().list_commands(ctx):
            command = super().get_command(ctx, name)
            if command is not None:
                rows.append((name, command.get_short_help_str()))
        with formatter.section("Commands"):
            formatter.write_dl(sorted(rows))


@click.group(
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"], "show_default": True},
)
@click.version_option(package_name="customer-session-mock")
def main(**_: Any) -> None:
    """A stateful, self-validating mock of the Talon.One customer session API.

    Every option of `serve` can also be set as a CSM_<NAME> variable (CSM_PORT, CSM_STORE_URL,
    ...); an option on the command line wins.
    """


main.add_command(serve)
main.add_command(fixtures)
