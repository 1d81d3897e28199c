"""Settings of ``wayfinder serve`` (environment variables ``WAYFINDER_*``).

    WAYFINDER_TOKEN_SECRET=...                       # the same secret as ``wayfinder deliver``'s
    WAYFINDER_SESSION_SECRET=...                     # signs staff session cookies
    WAYFINDER_OIDC_ISSUER=https://login.example.com/realms/staff
    WAYFINDER_OIDC_CLIENT_ID=wayfinder
    WAYFINDER_OIDC_CLIENT_SECRET=...
    WAYFINDER_ROLE_GROUPS='{"reviewer": ["hr-ops"], "hr_partner": ["hrbp"], "manager": ["people-leads"],
                            "operator": ["hr-ops", "platform"]}'
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

Role = Literal["reviewer", "hr_partner", "manager", "operator"]
ROLES: tuple[Role, ...] = ("reviewer", "hr_partner", "manager", "operator")


class WebSettings(BaseSettings):
    """What ``wayfinder serve`` needs; secrets never print."""

    model_config = SettingsConfigDict(env_prefix="WAYFINDER_", env_nested_delimiter="__", frozen=True,
                                      extra="ignore", hide_input_in_errors=True)

    token_secret: SecretStr = Field(description="checks the per-recipient token of preferences links; the "
                                    "same as wayfinder deliver's", min_length=16)
    session_secret: SecretStr = Field(description="signs staff session cookies", min_length=16)
    token_ttl_days: int = Field(default=90, ge=1, le=3650, description="how long a link shown in a page keeps "
                                "working (links in emails are signed by deliver)")
    oidc_issuer: str | None = Field(default=None, description="the identity provider's issuer URL "
                                    "(its /.well-known/openid-configuration is read)")
    oidc_client_id: str | None = None
    oidc_client_secret: SecretStr | None = None
    oidc_scopes: str = "openid profile email"
    groups_claim: str = Field(default="groups", description="the token claim that lists the user's groups")
    person_id_claim: str = Field(default="employee_id", description="the claim holding the person's employee id "
                                 "(falls back to sub)")
    role_groups: dict[Role, list[str]] = Field(default_factory=dict, description="which groups give which role: "
                                               "reviewer and operator see every employee, an hr_partner only "
                                               "their own, a manager only tasks assigned to them")
    cookie_secure: bool = Field(default=True, description="Secure cookies; turn off only for http://127.0.0.1")
    session_max_age_seconds: int = Field(default=8 * 3600, ge=60)
    public_url: str | None = Field(default=None, description="how browsers reach serve (for the OIDC redirect) "
                                   "[the request's own URL]")
