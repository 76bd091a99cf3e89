"""Elastic Path client (kept import path; the provider lives in ``providers/elasticpath``)."""

from .providers.elasticpath import ElasticPathClient

__all__ = ["ElasticPathClient"]
