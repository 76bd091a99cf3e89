"""Elastic Path Commerce Cloud as data: defaults, environment variables and hooks."""

from __future__ import annotations

from .._spec import CredentialVars, ProviderSpec, TokenDefaults
from ._errors import parse_errors
from ._normalize import normalize, summarize_integration

MAX_PAGE_SIZE = 100
"""``page[limit]`` is at most 100; clients ask for the maximum to minimise requests."""

SPEC = ProviderSpec(
    name="elasticpath",
    title="Elastic Path",
    api_version=2,
    checkpoint_name="elasticpath",
    base_url="https://useast.api.elasticpath.com",
    base_url_var="EPCC_API_BASE_URL",
    token=TokenDefaults(credentials_in="form", path="/oauth/access_token"),
    credentials=(
        CredentialVars(
            "client_credentials",
            "EPCC_CLIENT_ID",
            "EPCC_CLIENT_SECRET",
            token_url_var="EPCC_TOKEN_URL",
        ),
    ),
    documented_rate_limit=25.0,  # a development store; production stores allow 100
    max_page_size=MAX_PAGE_SIZE,
    default_page_size=MAX_PAGE_SIZE,  # the fewest requests
    # jobs first: one offset listing cannot be read past the offset ceiling, and a busy
    # integration reaches it; each job's listing is short.
    harvest_scopes=("jobs", "integrations", "all"),
    ceiling_scope="jobs",
    parse_errors=parse_errors,
    normalize=normalize,
    summarize_integration=summarize_integration,
)
"""Elastic Path Commerce Cloud (Integrations API, ``/v2``)."""

__all__ = ["MAX_PAGE_SIZE", "SPEC"]
