"""Failed password logins of the last minutes, shared by every API process."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Identity, Index, Text, func
from sqlalchemy.dialects.postgresql import TIMESTAMP
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base


class LoginFailure(Base):
    """One failed attempt: what login was tried, from where. Counted to slow down guessing
    (`attune.auth.login_throttle`); a success deletes its login's rows, age the rest."""

    __tablename__ = "login_failure"
    __table_args__ = (Index(None, "login", "created"), Index(None, "source", "created"))

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    created: Mapped[datetime] = mapped_column(TIMESTAMP(timezone=True), server_default=func.now())
    login: Mapped[str] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(Text)
