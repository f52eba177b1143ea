"""The SQL read model: tables, migrations, projections and queries."""
