"""``tickets serve``: one service of a scaled-out deployment per process."""

from __future__ import annotations

import typer

from standalone import cli_interceptor

serve_app = typer.Typer(help="Run one service of the deployment.", no_args_is_help=True)
cli_interceptor.register(serve_app)
