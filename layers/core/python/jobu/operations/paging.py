"""Pages of a listing: `items`, `total`, `page`, `size`, `pages`, as the original jobu answered."""

from __future__ import annotations

from pydantic import BaseModel, Field

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20


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
