"""Storage: tables, engines for SQLite and PostgreSQL, migrations and the queries on them."""
