"""Staff sign-in: OpenID Connect (authorization code with PKCE, through Authlib), or the development sign-in."""

from __future__ import annotations

import logging
import re
import secrets
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from wayfinder.web.access import Staff, roles_from_groups
from wayfinder.web.context import Web, web
from wayfinder.web.security import check_csrf, read_form, session_csrf
from wayfinder.web.settings import ROLES, WebSettings

log = logging.getLogger("wayfinder.web")
_PERSON = r"[A-Za-z0-9._-]{1,100}"


def make_oauth(settings: WebSettings) -> Any:
    """The Authlib client for the configured provider, or None when no issuer is set."""
    if not settings.oidc_issuer:
        return None
    from authlib.integrations.starlette_client import OAuth

    if not settings.oidc_client_id:
        msg = "WAYFINDER_OIDC_CLIENT_ID is required with WAYFINDER_OIDC_ISSUER"
        raise ValueError(msg)
    oauth = OAuth()
    secret = settings.oidc_client_secret.get_secret_value() if settings.oidc_client_secret else None
    oauth.register("staff", client_id=settings.oidc_client_id, client_secret=secret,
                   server_metadata_url=settings.oidc_issuer.rstrip("/") + "/.well-known/openid-configuration",
                   client_kwargs={"scope": settings.oidc_scopes, "code_challenge_method": "S256"})
    return oauth


def _start_session(request: Request, staff: Staff) -> None:
    request.session.clear()
    request.session["staff"] = staff.to_session()
    request.session["csrf"] = secrets.token_urlsafe(32)


async def login(request: Request) -> Response:
    w = web(request)
    if request.method == "POST":
        if not w.dev_login:
            raise HTTPException(404, "Development sign-in is off.")
        form = await read_form(request)
        check_csrf(session_csrf(request), form)
        person = str(form.get("person_id") or "")
        if not re.fullmatch(_PERSON, person):
            raise HTTPException(400, "Give an employee id (letters, digits, '.', '_', '-').")
        roles = frozenset(r for r in ROLES if form.get(f"role_{r}") == "on")
        groups = _escalation_groups(w, str(form.get("groups") or "").split(","))
        _start_session(request, Staff(person_id=person, roles=roles, groups=groups))
        log.info("development sign-in: person=%s roles=%s", person, ",".join(sorted(roles)))
        return RedirectResponse("/", status_code=303)
    return w.render(request, "login.html", csrf=session_csrf(request), oidc=w.oauth is not None, roles=ROLES)


def _escalation_groups(w: Web, groups: list[str]) -> frozenset[str]:
    """Of the person's groups, the one ``Policy.review_escalation`` names, if they are in it: its members see and
    work the escalated reviews (the session keeps no other group: a company's list of groups can be long)."""
    group = w.backend.world.defs.policy.review_escalation
    return frozenset({group}) if group and group in {g.strip() for g in groups} else frozenset()


def _redirect_uri(request: Request) -> str:
    base = web(request).settings.public_url
    return (base.rstrip("/") + "/auth/callback") if base else str(request.url_for("auth_callback"))


async def oidc_start(request: Request) -> Response:
    w = web(request)
    if w.oauth is None:
        raise HTTPException(404, "No identity provider is configured (WAYFINDER_OIDC_ISSUER).")
    response: Response = await w.oauth.staff.authorize_redirect(request, _redirect_uri(request))
    return response


async def auth_callback(request: Request) -> Response:
    import httpx2
    from authlib.integrations.starlette_client import OAuthError

    w = web(request)
    if w.oauth is None:
        raise HTTPException(404, "No identity provider is configured.")
    try:
        token = await w.oauth.staff.authorize_access_token(request)
    except OAuthError as e:
        log.warning("sign-in failed: %s", e.error)
        raise HTTPException(401, "Sign-in failed; try again.") from e
    except httpx2.HTTPError as e:
        log.warning("sign-in failed: the identity provider answered %s", type(e).__name__)
        raise HTTPException(502, "The identity provider did not answer properly; try again later.") from e
    claims = token.get("userinfo") or {}
    groups = claims.get(w.settings.groups_claim) or []
    roles = roles_from_groups([str(g) for g in groups] if isinstance(groups, list) else [], w.settings.role_groups)
    person = str(claims.get(w.settings.person_id_claim) or claims.get("sub") or "")
    if not person or not roles:
        raise HTTPException(403, "Your account has no Wayfinder role; ask HR operations to add you to a group.")
    kept = _escalation_groups(w, [str(g) for g in groups] if isinstance(groups, list) else [])
    _start_session(request, Staff(person_id=person, roles=roles, groups=kept))
    log.info("signed in: person=%s roles=%s", person, ",".join(sorted(roles)))
    return RedirectResponse("/", status_code=303)


async def logout(request: Request) -> Response:
    form = await read_form(request)
    check_csrf(session_csrf(request), form)
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


async def home(request: Request) -> Response:
    staff = Staff.from_session(request.session.get("staff"))
    if staff is None:
        return RedirectResponse("/login", status_code=303)
    if staff.has("reviewer", "hr_partner"):
        return RedirectResponse("/review", status_code=303)
    if staff.has("manager"):
        return RedirectResponse("/tasks", status_code=303)
    return RedirectResponse("/overview", status_code=303)


ROUTES = [
    Route("/", home),
    Route("/login", login, methods=["GET", "POST"]),
    Route("/login/oidc", oidc_start),
    Route("/auth/callback", auth_callback, name="auth_callback"),
    Route("/logout", logout, methods=["POST"]),
]
