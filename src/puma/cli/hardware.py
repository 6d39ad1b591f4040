"""`puma hardware [--json]`: what the probe sees on this machine (hardware-1.0), as a table or
as the JSON that a run writes to hardware.json."""

from __future__ import annotations

from typing import Annotated

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from puma.cli.console import make_console
from puma.runfolder.hardware import GIB, HardwareReport

_STATUS_STYLE = {"read": "green", "absent": "dim", "failed": "red", "skipped": "dim"}


def hardware(
    as_json: Annotated[
        bool, typer.Option("--json", help="Print hardware.json's JSON instead of a table.")
    ] = False,
) -> None:
    """Show what the hardware probe sees on this machine, and the device tag it suggests.

    CPU and its features, memory, GPUs, OS, Python, the llama.cpp build, power source and
    hardware class. Never fails on a missing tool: the table says what each source gave."""
    from puma.hardware import probe  # on use: the probe imports llama_cpp for its build

    report = probe()
    if as_json:
        typer.echo(report.model_dump_json(indent=2))
        return
    console = make_console()
    console.print(_machine_table(report))
    console.print(_sources_table(report))


def _gb(size: int | None) -> str:
    return "unknown" if size is None else f"{size / GIB:.1f} GiB"


def _machine_table(report: HardwareReport) -> Table:
    table = Table(title="this machine", box=box.SIMPLE_HEAD, pad_edge=False, show_header=False)
    table.add_column("what", style="bold", no_wrap=True)
    table.add_column("value")
    cpu = report.cpu
    counts = f"{cpu.cores or '?'} cores, {cpu.threads or '?'} threads"
    table.add_row("CPU", escape(f"{cpu.model} ({cpu.arch}; {counts})"))
    table.add_row("CPU features", escape(" ".join(cpu.features) or "none found"))
    table.add_row("memory", _gb(report.ram_bytes))
    for index, gpu in enumerate(report.gpus):
        memory = "shares system memory" if gpu.integrated else _gb(gpu.vram_bytes)
        driver = f", driver {gpu.driver}" if gpu.driver else ""
        table.add_row(f"GPU {index}", escape(f"{gpu.name} ({memory}{driver}; {gpu.source})"))
    if not report.gpus:
        table.add_row("GPU", "none found")
    kernel = f", kernel {report.kernel.release}" if report.kernel else ""
    table.add_row("OS", escape(f"{report.os.pretty}{kernel}"))
    table.add_row("Python", escape(report.python))
    build = report.runtime_build
    llama = (
        f"llama-cpp-python {build.llama_cpp_python}: {' '.join(build.features) or '-'}"
        if build.llama_cpp_python
        else "llama-cpp-python not installed"
    )
    table.add_row("runtime build", escape(llama))
    table.add_row("power source", report.power_source or "not reported")
    table.add_row("hardware class", report.hardware_class)
    table.add_row("device tag", f"[bold]{report.device_tag_suggestion}[/] (suggested)")
    return table


def _sources_table(report: HardwareReport) -> Table:
    table = Table(title="sources", box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("source", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("detail")
    for status in report.probes:
        style = _STATUS_STYLE[status.status]
        table.add_row(escape(status.source), f"[{style}]{status.status}[/]", escape(status.detail))
    return table


def register(app: typer.Typer) -> None:
    app.command("hardware")(hardware)
