"""SQLAlchemy mapped classes, one module per aggregate. Importing this package registers them all."""

from autoindex.models.audit import AuditEvent
from autoindex.models.identity import ApiKey, RefreshToken, User

__all__ = ["ApiKey", "AuditEvent", "RefreshToken", "User"]
