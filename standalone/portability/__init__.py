"""Per-guild export to a ZIP and import into another guild or deployment."""

from standalone.portability.export import GuildExport, export_to_file
from standalone.portability.format import Manifest, PortabilityError, Progress
from standalone.portability.importer import clean_up, import_guild

__all__ = [
    "GuildExport",
    "Manifest",
    "PortabilityError",
    "Progress",
    "clean_up",
    "export_to_file",
    "import_guild",
]
