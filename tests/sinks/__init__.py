"""Sink tests: PostgreSQL, DuckDB and Parquet against real servers and files."""
