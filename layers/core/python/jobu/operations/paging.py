"""Pages of a listing: `items`, `total`, `page`, `size`, `pages`, as the original jobu answered."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, Field

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20
# every backend stores these years (MySQL's DATETIME starts at 1000); beyond them nothing exists
EARLIEST = datetime(1970, 1, 2)
LATEST = datetime(9999, 12, 30)


def bounded(moment: datetime | None) -> datetime | None:
    """A list's time filter as given, or ValueError when it falls outside the years stored."""
    if moment is not None and not EARLIEST <= moment.replace(tzinfo=None) <= LATEST:
        raise ValueError(f"dates must fall between {EARLIEST:%Y-%m-%d} and {LATEST:%Y-%m-%d}")
    return moment


def as_utc(moment: datetime) -> datetime:
    """UTC when the time has no offset, else the same instant in UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class PageRequest(BaseModel):
    page: int = Field(default=1, ge=1, description="1 is the first page")
    size: int = Field(default=DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE)

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.size


class Page[T](BaseModel):
    items: list[T]
    total: int = Field(ge=0, description="items matching the filters, on every page")
    page: int = Field(ge=1)
    size: int = Field(ge=1, le=MAX_PAGE_SIZE)
    pages: int = Field(ge=0, description="pages of this size that hold the total")

    @classmethod
    def of(cls, items: list[T], *, total: int, request: PageRequest) -> Page[T]:
        pages = (total + request.size - 1) // request.size
        return cls(items=items, total=total, page=request.page, size=request.size, pages=pages)
