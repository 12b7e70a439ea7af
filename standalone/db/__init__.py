"""The database port: SurrealDB, embedded or a server, chosen by URL alone."""

from standalone.db.connection import Database, DatabaseError, open_database

__all__ = ["Database", "DatabaseError", "open_database"]
