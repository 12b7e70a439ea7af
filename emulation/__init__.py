"""Stand-ins for Discord and Valkey, behind the ports in ``emulation.ports``."""
