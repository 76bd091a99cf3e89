"""Sendcloud API v2 as data: defaults, environment variables and hooks."""

from __future__ import annotations

from .._spec import CredentialVars, ProviderSpec, TokenDefaults
from ._errors import parse_errors
from ._normalize import normalize, summarize_integration

MAX_PAGE_SIZE = 500
"""Cursor pages have a server-chosen size; ``page_size`` is a hint of at most this."""

SPEC = ProviderSpec(
    name="sendcloud",
    title="Sendcloud",
    api_version=2,
    checkpoint_name="sendcloud",  # as checkpoints of earlier releases name it
    base_url="https://panel.sendcloud.sc/api/v2",
    base_url_var="SENDCLOUD_API_BASE_URL",
    token=TokenDefaults(
        credentials_in="basic", url="https://account.sendcloud.com/oauth2/token", scope="api"
    ),
    credentials=(
        CredentialVars("basic", "SENDCLOUD_PUBLIC_KEY", "SENDCLOUD_SECRET_KEY"),
        CredentialVars(
            "client_credentials",
            "SENDCLOUD_CLIENT_ID",
            "SENDCLOUD_CLIENT_SECRET",
            token_url_var="SENDCLOUD_TOKEN_URL",
        ),
    ),
    documented_rate_limit=1000 / 60,  # 1000 GET requests per minute
    max_page_size=MAX_PAGE_SIZE,
    default_page_size=None,  # the server chooses
    harvest_scopes=("integrations", "all"),
    ceiling_scope=None,  # cursor pages: no offset ceiling
    parse_errors=parse_errors,
    normalize=normalize,
    summarize_integration=summarize_integration,
)
"""Sendcloud API v2."""

__all__ = ["MAX_PAGE_SIZE", "SPEC"]
