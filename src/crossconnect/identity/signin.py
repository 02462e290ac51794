"""Users signing in as Azure AD does it: the authorization-code flow with PKCE (S256), the
device-code flow (``az login --use-device-code``) and refresh tokens.

Authorization codes and refresh tokens are tokens this server signs (any replica can redeem
them). What a sign-in in progress needs to remember lives in the store, so every replica shares
it: pending device codes, the authorization codes already redeemed, wrong passwords and
device-code requests (counted by ``identity.throttle``).

Device-code requests need no credential, so they are bounded: ``DEVICE_CODE_SOURCE_LIMIT`` per
source address and ``DEVICE_CODE_CLIENT_LIMIT`` per client (tenant + client id) a minute; past
that 429 with ``Retry-After``. A code lives ``DEVICE_CODE_LIFETIME`` seconds, so at most 15 times
those numbers are ever pending.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import json
from typing import Any
from urllib.parse import urlencode, urlparse

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from crossconnect import clock, entropy
from crossconnect.identity import signin_pages as pages
from crossconnect.identity import throttle
from crossconnect.identity.directory import Directory
from crossconnect.identity.errors import AadError, missing, read_form
from crossconnect.identity.throttle import digest as _digest
from crossconnect.identity.throttle import source_address
from crossconnect.identity.tokens import GRAPH_AUDIENCE, TokenService, canonical_resource, resource_from_scope
from crossconnect.store import Store

# First-party public clients (no secret): they exist in every tenant, as on Azure AD.
FIRST_PARTY_CLIENTS = {
    "04b07795-8ddb-461a-bbee-02f9e1bf7b46": "Microsoft Azure CLI",
    "1950a258-227b-4e31-a9cf-717495945fc2": "Microsoft Azure PowerShell",
    "c44b4083-3bb0-49c1-b47d-974e53cbdf3c": "Azure Portal",
}
PORTAL_CLIENT_ID = "c44b4083-3bb0-49c1-b47d-974e53cbdf3c"
DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
USER_GRANTS = frozenset({"authorization_code", "refresh_token", DEVICE_CODE_GRANT})
CODE_AUDIENCE = "urn:crossconnect:authorization-code"
REFRESH_AUDIENCE = "urn:crossconnect:refresh-token"
CODE_LIFETIME = 600
REFRESH_LIFETIME = 90 * 24 * 3600
DEVICE_CODE_LIFETIME = 900
Row = dict[str, Any]
MAX_FAILURES = 5  # wrong passwords per user within a minute, then the account is locked for the rest of it
DEVICE_CODE_SOURCE_LIMIT = 10  # device-code requests per source address within a minute
DEVICE_CODE_CLIENT_LIMIT = 30  # device-code requests per client (tenant + client id) within a minute
USER_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
# Sign-in state a reset clears. redeemed_codes stays: a code redeemed before a reset is still a
# validly signed code after it (signing keys survive a reset), so it must stay redeemed.
TRANSIENT_TABLES = ("device_codes", "sign_in_failures")


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def s256(verifier: str) -> str:
    return _b64url(hashlib.sha256(verifier.encode()).digest())


def base_url(request: Request) -> str:
    return f"https://{request.headers.get('host', request.url.netloc)}"


class UserSignIn:
    def __init__(self, store: Store, directory: Directory, tokens: TokenService) -> None:
        self.store = store
        self.directory = directory
        self.tokens = tokens
        self.wrong_passwords = throttle.FailureThrottle(store, "user", MAX_FAILURES)
        self.device_codes_by_source = throttle.FailureThrottle(store, "devicecode-source", DEVICE_CODE_SOURCE_LIMIT)
        self.device_codes_by_client = throttle.FailureThrottle(store, "devicecode-client", DEVICE_CODE_CLIENT_LIMIT)
        # check, verify and count one password at a time in this process (see identity.throttle)
        self._checking = asyncio.Lock()

    def forget(self) -> None:
        """Pending device codes and wrong-password counts (a reset), on every replica at once."""
        with self.store.tx() as conn:
            for table in TRANSIENT_TABLES:
                self.store.delete_where(table, conn)

    def routes(self) -> list[Route]:
        # the pages that read the store run where it runs blocking work (a pool thread on
        # PostgreSQL: a sign-in waiting on the database holds up no other request); their forms
        # are read, and passwords checked, on the event loop with no store thread held
        off_loop = self.store.calls.endpoint
        return [
            Route("/{tenant}/oauth2/v2.0/authorize", off_loop(self.authorize), methods=["GET", "POST"]),
            Route("/{tenant}/oauth2/v2.0/devicecode", off_loop(self.device_code), methods=["POST"]),
            Route("/{tenant}/oauth2/v2.0/logout", self.logout, methods=["GET"]),  # (no store)
            Route("/devicelogin", off_loop(self.device_login), methods=["GET", "POST"]),
        ]

    # -- helpers -------------------------------------------------------------------------------
    def _tenant(self, name: str) -> dict[str, Any] | None:
        return self.directory.find_tenant(name)

    def _client_known(self, tenant_id: str, client_id: str) -> bool:
        client_id = client_id.lower()
        if client_id in FIRST_PARTY_CLIENTS:
            return True
        return self.directory.find_service_principal(tenant_id, client_id) is not None

    async def _check_password(self, tenant: Row, username: str, password: str) -> tuple[Row | None, str]:
        """The user, or None and the message the sign-in page shows (from a page's handler)."""
        return await self.store.calls.on_loop(
            functools.partial(self._check_password_on_loop, tenant, username, password)
        )

    async def _check_password_on_loop(self, tenant: Row, username: str, password: str) -> tuple[Row | None, str]:
        # On the event loop, as the token endpoint checks secrets: the lock is the loop's and a
        # request waiting for it (or for the hashing thread) holds no store thread; the store
        # calls in between still run where the store runs blocking work.
        calls = self.store.calls
        key = self.wrong_passwords.key(tenant["id"], username.strip().lower())
        async with self._checking:
            recent = await calls.run(self.wrong_passwords.recent, key)
            wait = self.wrong_passwords.wait_seconds(recent)
            if wait:
                return None, f"Too many attempts: your account is temporarily locked. Wait {wait} s and try again."
            user = await calls.run(self.directory.find_user, tenant["id"], username.strip())
            if user is None or not await self.directory.check_password(user, password):
                await calls.run(throttle.count, self.store, key)
                return None, "Your account or password is incorrect. If you don't remember your password, reset it now."
            if recent:
                await calls.run(self.wrong_passwords.succeed, key)
        return user, ""

    async def _page_form(self, request: Request) -> dict[str, str]:
        """A sign-in page's form fields (a body over the limit: the app's 413), parsed on the event
        loop, not only read there: Starlette spools a large multipart upload to a file through a
        worker thread of the loop's, which a store thread cannot reach."""
        form = await self.store.calls.on_loop(request.form)
        return {k: str(v) for k, v in form.items()}

    # -- the authorization-code flow -----------------------------------------------------------
    async def authorize(self, request: Request) -> Response:
        params = dict(request.query_params)
        if request.method == "POST":
            params.update(await self._page_form(request))
        tenant = self._tenant(request.path_params["tenant"])
        if tenant is None:
            return pages.error_page(f"AADSTS90002: Tenant '{request.path_params['tenant']}' not found.")
        client_id = params.get("client_id", "").lower()
        redirect_uri = params.get("redirect_uri", "")
        if not client_id or not self._client_known(tenant["id"], client_id):
            return pages.error_page(f"AADSTS700016: Application with identifier '{client_id}' was not found.")
        if not _redirect_allowed(request, redirect_uri):
            return pages.error_page(
                f"AADSTS50011: The redirect URI '{redirect_uri}' specified in the request does not match the "
                "redirect URIs configured for the application."
            )
        if params.get("response_type") != "code":
            return _redirect_error(redirect_uri, params, "unsupported_response_type", "Only response_type=code.")
        if params.get("code_challenge_method", "S256") != "S256" or not params.get("code_challenge"):
            return _redirect_error(
                redirect_uri, params, "invalid_request", "AADSTS9002325: Proof Key for Code Exchange is required."
            )
        if request.method == "GET":
            return pages.sign_in_page(params, FIRST_PARTY_CLIENTS.get(client_id, client_id), tenant["domain"])
        user, message = await self._check_password(tenant, params.get("username", ""), params.get("password", ""))
        if user is None:
            return pages.sign_in_page(params, FIRST_PARTY_CLIENTS.get(client_id, client_id), tenant["domain"], message)
        code = self._grant(
            CODE_AUDIENCE,
            CODE_LIFETIME,
            tenant,
            user,
            client_id,
            redirect_uri=redirect_uri,
            code_challenge=params["code_challenge"],
            scope=params.get("scope", ""),
            nonce=params.get("nonce", ""),
        )
        query = {"code": code, "state": params.get("state", "")}
        return RedirectResponse(f"{redirect_uri}{'&' if '?' in redirect_uri else '?'}{urlencode(query)}", 302)

    async def logout(self, request: Request) -> Response:
        target = request.query_params.get("post_logout_redirect_uri", "")
        if target and _redirect_allowed(request, target):
            return RedirectResponse(target, 302)
        return pages.message_page("Signed out", "You have signed out of your account.")

    # -- the device-code flow ------------------------------------------------------------------
    async def device_code(self, request: Request) -> Response:
        tenant = self._tenant(request.path_params["tenant"])
        if tenant is None:
            return AadError(400, "invalid_request", 90002, "Tenant not found.").response()
        try:
            # (as a page's form: parsed on the event loop)
            form = await self.store.calls.on_loop(functools.partial(read_form, request))
            client_id = form.get("client_id", "").lower()
            if not client_id:
                raise missing("client_id")
            if not self._client_known(tenant["id"], client_id):
                raise AadError(400, "unauthorized_client", 700016, f"Application '{client_id}' was not found.")
            counted = self._count_device_code_request(tenant["id"], client_id, source_address(request))
        except AadError as exc:
            return exc.response()
        device_code, user_code = self._new_device_code(tenant["id"], client_id, form.get("scope", ""), counted)
        uri = f"{base_url(request)}/devicelogin"
        return Response(
            json.dumps(
                {
                    "user_code": user_code,
                    "device_code": device_code,
                    "verification_uri": uri,
                    "expires_in": DEVICE_CODE_LIFETIME,
                    "interval": 1,
                    "message": f"To sign in, use a web browser to open the page {uri} and enter the code "
                    f"{user_code} to authenticate.",
                }
            ),
            media_type="application/json",
        )

    def _count_device_code_request(self, tenant_id: str, client_id: str, source: str) -> tuple[str, str]:
        """The throttle keys of this request, or 429 when its source or its client asked too often."""
        by_source = self.device_codes_by_source.key(source)
        by_client = self.device_codes_by_client.key(tenant_id, client_id)
        wait = self.device_codes_by_source.wait(by_source)
        if wait:
            raise throttle.throttled(wait, "Too many device codes were requested from this address in the last minute.")
        wait = self.device_codes_by_client.wait(by_client)
        if wait:
            raise throttle.throttled(
                wait, f"Too many device codes were requested for application '{client_id}' in the last minute."
            )
        return by_source, by_client

    def _new_device_code(
        self, tenant_id: str, client_id: str, scope: str, counted: tuple[str, ...] = ()
    ) -> tuple[str, str]:
        """Store a pending device code and count the request against ``counted`` (its throttle keys),
        in one transaction; the device code (kept only as its hash) and the user code."""
        now = clock.now()
        with self.store.tx() as conn:
            self.store.delete_before("device_codes", "expires_at", now, conn)
            throttle.count(self.store, *counted, conn=conn)
            while True:  # a user code still pending is never handed out twice
                device_code = entropy.token_urlsafe(entropy.CODES, 32)
                user_code = "".join(entropy.choice(entropy.CODES, USER_CODE_ALPHABET) for _ in range(9))
                row = {
                    "device_code_hash": _digest(device_code),
                    "user_code": user_code,
                    "tenant_id": tenant_id,
                    "client_id": client_id,
                    "scope": scope,
                    "user_id": None,
                    "expires_at": now + DEVICE_CODE_LIFETIME,
                }
                if self.store.insert_if_absent("device_codes", row, conn):
                    return device_code, user_code

    async def device_login(self, request: Request) -> Response:
        if request.method == "GET":
            return pages.device_page({})
        form = await self._page_form(request)
        code = form.get("user_code", "").strip().upper().replace("-", "")
        entry = self.store.find("device_codes", user_code=code) if code else None
        if entry is None or entry["expires_at"] < clock.now():
            return pages.device_page(form, "That code didn't work. Check the code and try again.")
        tenant = self._tenant(entry["tenant_id"])
        assert tenant is not None
        client_id: str = entry["client_id"]
        client_name = FIRST_PARTY_CLIENTS.get(client_id, client_id)
        if "username" not in form:
            return pages.device_page(form, "", client_name)
        user, message = await self._check_password(tenant, form.get("username", ""), form.get("password", ""))
        if user is None:
            return pages.device_page(form, message, client_name)
        if not self.store.update_where(
            "device_codes", {"user_id": user["object_id"]}, device_code_hash=entry["device_code_hash"]
        ):  # redeemed or expired meanwhile
            return pages.device_page(form, "That code didn't work. Check the code and try again.")
        return pages.message_page(
            "You're signed in",
            f"You have signed in to {client_name} on your device. You may now close this window.",
        )

    # -- the token endpoint's user grants ------------------------------------------------------
    def grant(self, request: Request, tenant: dict[str, Any], form: dict[str, str]) -> dict[str, Any]:
        grant_type = form["grant_type"]
        client_id = form.get("client_id", "").lower()
        if not client_id:
            raise missing("client_id")
        if grant_type == "authorization_code":
            claims = self._redeem_code(tenant, form, client_id)
        elif grant_type == "refresh_token":
            claims = self._redeem_refresh(tenant, form, client_id)
        else:
            claims = self._redeem_device_code(tenant, form, client_id)
        user = self.directory.find_user_by_object_id(tenant["id"], claims["oid"])
        if user is None:
            raise AadError(400, "invalid_grant", 50034, "The user account does not exist in the directory.")
        scope = form.get("scope") or claims.get("scope", "")
        return self._tokens(request, tenant, user, client_id, scope, claims.get("nonce", ""), form)

    def _redeem_code(self, tenant: dict[str, Any], form: dict[str, str], client_id: str) -> dict[str, Any]:
        for name in ("code", "redirect_uri", "code_verifier"):
            if not form.get(name):
                raise missing(name)
        claims = self.tokens.unsign(form["code"], CODE_AUDIENCE)
        if claims is None or claims["tid"] != tenant["id"] or self.store.find("redeemed_codes", jti=claims["jti"]):
            raise _code_expired()
        if claims["client_id"] != client_id or claims["redirect_uri"] != form["redirect_uri"]:
            raise AadError(400, "invalid_grant", 50148, "The code was issued to another client or redirect URI.")
        if s256(form["code_verifier"]) != claims["code_challenge"]:
            raise AadError(400, "invalid_grant", 501481, "The Code_Verifier does not match the code_challenge supplied "
                           "in the authorization request for PKCE.")  # fmt: skip
        with self.store.tx() as conn:
            self.store.delete_before("redeemed_codes", "expires_at", clock.now(), conn)
            redeemed = self.store.insert_if_absent(
                "redeemed_codes", {"jti": claims["jti"], "expires_at": float(claims["exp"])}, conn
            )
        if not redeemed:  # another request (at any replica) redeemed it first
            raise _code_expired()
        return claims

    def _redeem_refresh(self, tenant: dict[str, Any], form: dict[str, str], client_id: str) -> dict[str, Any]:
        if not form.get("refresh_token"):
            raise missing("refresh_token")
        claims = self.tokens.unsign(form["refresh_token"], REFRESH_AUDIENCE)
        if claims is None or claims["tid"] != tenant["id"] or claims["client_id"] != client_id:
            raise AadError(
                400, "invalid_grant", 9002313, "Invalid request. Request is malformed or invalid: the refresh token "
                "is invalid, expired, or was issued to another client or tenant."
            )  # fmt: skip
        return claims

    def _redeem_device_code(self, tenant: dict[str, Any], form: dict[str, str], client_id: str) -> dict[str, Any]:
        code = form.get("device_code") or form.get("code")
        if not code:
            raise missing("device_code")
        key = _digest(code)
        entry = self.store.find("device_codes", device_code_hash=key)
        if entry is None or entry["expires_at"] < clock.now() or entry["client_id"] != client_id:
            if entry is not None:
                self.store.delete_where("device_codes", device_code_hash=key)
            raise _device_code_expired()
        if entry["user_id"] is None:
            raise AadError(
                400, "authorization_pending", 70016, "OAuth 2.0 device flow error. Authorization is pending. "
                "Continue polling."
            )  # fmt: skip
        if not self.store.delete_where("device_codes", device_code_hash=key, user_id=entry["user_id"]):
            raise _device_code_expired()  # another poll (at any replica) redeemed it first
        return {"oid": entry["user_id"], "scope": entry["scope"], "tid": entry["tenant_id"]}

    def _grant(
        self, audience: str, lifetime: int, tenant: dict[str, Any], user: dict[str, Any], client_id: str, **claims: str
    ) -> str:
        """A signed grant this server redeems itself (authorization code, refresh token): any
        replica verifies it with the shared signing keys; ``jti`` makes each one unique."""
        now = int(clock.now())
        return self.tokens.sign(
            {
                "aud": audience,
                "iat": now,
                "exp": now + lifetime,
                "jti": entropy.hex_id(entropy.CODES),
                "tid": tenant["id"],
                "oid": user["object_id"],
                "client_id": client_id,
                **claims,
            }
        )

    def _tokens(
        self,
        request: Request,
        tenant: dict[str, Any],
        user: dict[str, Any],
        client_id: str,
        scope: str,
        nonce: str,
        form: dict[str, str],
    ) -> dict[str, Any]:
        base = base_url(request)
        resource = resource_from_scope(scope)
        audience = GRAPH_AUDIENCE if resource is None else canonical_resource(resource)
        if audience is None and resource is not None and resource.rstrip("/").lower() == base.lower():
            audience = GRAPH_AUDIENCE
        if audience is None:
            raise AadError(400, "invalid_resource", 500011, f"The resource principal named {resource} was not found "
                           f"in the tenant named {tenant['display_name']}.")  # fmt: skip
        access, lifetime = self.tokens.issue_user(
            tenant_id=tenant["id"], user=user, client_id=client_id, audience=audience, scope=scope
        )
        now = int(clock.now())
        id_claims = {
            "aud": client_id,
            "iss": self.tokens.issuer(tenant["id"]),
            "iat": now,
            "nbf": now,
            "exp": now + lifetime,
            "oid": user["object_id"],
            "sub": user["object_id"],
            "tid": tenant["id"],
            "name": user["display_name"],
            "preferred_username": user["user_principal_name"],
            "ver": "2.0",
        }
        if nonce:
            id_claims["nonce"] = nonce
        refresh = self._grant(REFRESH_AUDIENCE, REFRESH_LIFETIME, tenant, user, client_id, scope=scope)
        body: dict[str, Any] = {
            "token_type": "Bearer",
            "scope": scope,
            "expires_in": lifetime,
            "ext_expires_in": lifetime,
            "access_token": access,
            "refresh_token": refresh,
            "id_token": self.tokens.sign(id_claims),
        }
        if form.get("client_info") == "1":
            body["client_info"] = _b64url(json.dumps({"uid": user["object_id"], "utid": tenant["id"]}).encode())
        return body


def _code_expired() -> AadError:
    return AadError(
        400, "invalid_grant", 70008, "The provided authorization code or refresh token has expired due to "
        "inactivity, or has been redeemed already. Send a new interactive authorization request."
    )  # fmt: skip


def _device_code_expired() -> AadError:
    return AadError(400, "expired_token", 70020, "The provided value for the input parameter 'device_code' "
                    "is not valid or has expired.")  # fmt: skip


def _redirect_allowed(request: Request, redirect_uri: str) -> bool:
    """This server's own pages (the portal), or a loopback address (native clients such as the CLI)."""
    parsed = urlparse(redirect_uri)
    if parsed.scheme == "https" and parsed.netloc.lower() == request.headers.get("host", "").lower():
        return True
    return parsed.scheme == "http" and (parsed.hostname or "") in ("localhost", "127.0.0.1")


def _redirect_error(redirect_uri: str, params: dict[str, str], error: str, description: str) -> Response:
    query = urlencode({"error": error, "error_description": description, "state": params.get("state", "")})
    return RedirectResponse(f"{redirect_uri}?{query}", 302)


__all__ = ["USER_GRANTS", "UserSignIn", "PORTAL_CLIENT_ID", "HTMLResponse"]
