from django.db import models


class FixedCharField(models.CharField):
    """A PostgreSQL `char(n)`, for ADR-002's fixed-width columns (country_code)."""

    def db_type(self, connection):
        return f"char({self.max_length})"
