"""What an import reports: the summary the CLI prints and the web upload page shows."""

from __future__ import annotations

from pydantic import BaseModel, Field, field_validator

from kizuna.imports.values import shown_value


class Rejection(BaseModel):
    """One refused cell or row, as written to the rejects file."""

    file: str
    row: int = Field(description="Row number as the user sees it (CSV/TSV/Excel: the header is row 1).")
    column: str
    value: str = Field(description="The cell as read; NUL and lone surrogates escaped, past 200 characters cut.")
    reason: str

    @field_validator("value")
    @classmethod
    def _showable(cls, value: str) -> str:
        # the rejects file, the CLI and the pages all show this: it must be writable as UTF-8 and of a sane length
        return shown_value(value)


class ImportSummary(BaseModel):
    """The outcome of one import of one file."""

    entity: str
    file: str
    format: str
    encoding: str | None = None
    file_sha256: str
    dry_run: bool = False
    rows_read: int = 0
    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    rejects_path: str | None = None
    recognised_columns: dict[str, str] = Field(default_factory=dict, description="file header -> kizuna column")
    ignored_columns: list[str] = Field(default_factory=list)
    import_run_id: int | None = None
    seconds: float = 0.0
    sample_rejections: list[Rejection] = Field(default_factory=list, description="The first few rejections.")
    created_at_assumed: int = Field(
        0, description="New accounts without created_at, dated the start of the import's day (until dated back)."
    )
    created_at_dated_back: int = Field(
        0, description="Accounts dated back to their first subscription line or event (they were dated later)."
    )
    timezone: str | None = Field(None, description="The time zone naive timestamps of the file were read in.")
    notes: list[str] = Field(default_factory=list, description="What the import derived or suspects, one line each.")

    @property
    def accepted(self) -> int:
        """Rows that are now in kizuna (new, changed or already there)."""
        return self.imported + self.updated + self.unchanged

    @property
    def refused_entirely(self) -> bool:
        """True when the file had rows and not one of them was accepted."""
        return self.rejected > 0 and self.accepted == 0
