"""Where a node keeps its views: a SQLite file, or a schema of a PostgreSQL database.

A node's configuration names one `ViewsLocation`; the node opens its views
there, and a rebuild fills a second location beside it (`beside`) that then
takes the first one's place (`take_over`): a file moved over the old one,
or a schema renamed over the dropped old one, in one transaction.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from psycopg.conninfo import conninfo_to_dict, make_conninfo

from caseledger.projections.store import CaseViews, is_dsn

__all__ = ["ViewsLocation"]

_REBUILD_SUFFIX = "_rebuild"


@dataclass(frozen=True)
class ViewsLocation:
    """A SQLite database file (`schema` empty), or `schema` of the database at a DSN."""

    database: str
    schema: str = ""

    @property
    def postgres(self) -> bool:
        return is_dsn(self.database)

    def open(self) -> CaseViews:
        return CaseViews.open(self.database, self.schema)

    def beside(self) -> ViewsLocation:
        """An empty place for a rebuild of these views."""
        if self.postgres:
            fresh = ViewsLocation(self.database, self.schema[:54] + _REBUILD_SUFFIX)
        else:
            fresh = ViewsLocation(self.database + ".rebuild")
        fresh.remove()
        return fresh

    def remove(self) -> None:
        """Delete the views kept here, if any."""
        if self.postgres:
            from caseledger.projections.postgres_store import drop_schema

            drop_schema(self.database, self.schema)
            return
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self.database}{suffix}").unlink(missing_ok=True)

    def take_over(self, fresh: ViewsLocation) -> None:
        """Put the (closed) views at `fresh` in the place of these (closed) ones."""
        if self.postgres:
            from caseledger.projections.postgres_store import rename_schema

            rename_schema(self.database, fresh.schema, self.schema)
            return
        self.remove()
        # A closed database has folded its write-ahead log in; should one be left,
        # it moves with the file it belongs to.
        for suffix in ("-wal", "-shm", ""):
            moved = Path(f"{fresh.database}{suffix}")
            if moved.exists():
                os.replace(moved, f"{self.database}{suffix}")

    def __str__(self) -> str:
        """For logs and status: the DSN without its password, and the schema."""
        if not self.postgres:
            return self.database
        parts = conninfo_to_dict(self.database)
        parts.pop("password", None)
        return f"{make_conninfo(**parts)} schema {self.schema}"  # type: ignore[arg-type]
