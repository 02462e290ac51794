"""Issuing and verifying RS256 access tokens."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from crossconnect import clock, entropy
from crossconnect.identity.keys import SigningKeys

# PyJWT (and the HTTP client and X.509 modules it imports) is imported by the methods that sign or
# verify, not here: a start needs none of it. The first token issued or verified pays the import
# once (tens of milliseconds); later calls find it in sys.modules.

TOKEN_LIFETIME = 3600  # seconds, as Azure AD's default access tokens (``--token-lifetime``)

ARM_AUDIENCES = frozenset(
    {
        "https://management.azure.com/",
        "https://management.azure.com",
        "https://management.core.windows.net/",
        "https://management.core.windows.net",
    }
)
GRAPH_AUDIENCE = "https://graph.microsoft.com"
GRAPH_AUDIENCES = frozenset(
    {"https://graph.microsoft.com", "https://graph.microsoft.com/", "00000003-0000-0000-c000-000000000000"}
)


def resource_from_scope(scope: str) -> str | None:
    """``https://management.azure.com/.default`` → ``https://management.azure.com/``.
    The CLI sends ``https://management.core.windows.net//.default`` (audience ends in '/')."""
    for item in scope.split():
        if item.endswith("/.default"):
            return item[: -len(".default")].rstrip("/") + "/"
    return None


def canonical_resource(resource: str) -> str | None:
    """The audience a token for ``resource`` carries, or None for an unknown resource."""
    stripped = resource.rstrip("/")
    if stripped + "/" in ARM_AUDIENCES:
        return stripped + "/"
    if stripped in GRAPH_AUDIENCES or stripped + "/" in GRAPH_AUDIENCES:
        return GRAPH_AUDIENCE
    return None


@dataclass(frozen=True)
class Principal:
    """Who is calling, from a verified token."""

    object_id: str
    tenant_id: str
    app_id: str
    audience: str
    claims: dict[str, Any]


class TokenError(Exception):
    """A token that cannot be accepted; ``code`` is the ARM error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class TokenService:
    def __init__(
        self, keys: SigningKeys, issuer_base: str, lifetime: int = TOKEN_LIFETIME, cache_size: int = 10_000
    ) -> None:
        self.keys = keys
        self.issuer_base = issuer_base.rstrip("/")
        self.lifetime = lifetime
        self._cache: OrderedDict[str, tuple[Principal, str]] = OrderedDict()  # token → (principal, kid)
        self._cache_size = cache_size
        self._lock = threading.Lock()

    def issuer(self, tenant_id: str) -> str:
        """The one issuer of a tenant's tokens, from the configured public URL (never from a
        request's ``Host``): ``{public url}/{tenant id}/v2.0``, as the discovery document says."""
        return f"{self.issuer_base}/{tenant_id}/v2.0"

    def issue(self, *, tenant_id: str, object_id: str, app_id: str, audience: str) -> tuple[str, int]:
        """An access token for an application (client credentials): ``idtyp`` app."""
        claims = {"idtyp": "app"}
        return self._access_token(tenant_id, object_id, app_id, audience, claims), self.lifetime

    def issue_user(
        self, *, tenant_id: str, user: dict[str, Any], client_id: str, audience: str, scope: str
    ) -> tuple[str, int]:
        """An access token for a signed-in user (delegated): ``idtyp`` user, ``upn``, ``name``, ``scp``."""
        claims = {
            "idtyp": "user",
            "upn": user["user_principal_name"],
            "unique_name": user["user_principal_name"],
            "name": user["display_name"],
            "scp": scope,
        }
        return self._access_token(tenant_id, user["object_id"], client_id, audience, claims), self.lifetime

    def _access_token(self, tenant_id: str, object_id: str, app_id: str, audience: str, kind: dict[str, Any]) -> str:
        now = int(clock.now())
        claims = {
            "aud": audience,
            "iss": self.issuer(tenant_id),
            "iat": now,
            "nbf": now,
            "exp": now + self.lifetime,
            "tid": tenant_id,
            "oid": object_id,
            "sub": object_id,
            "appid": app_id,
            "azp": app_id,
            **kind,
            "ver": "2.0",
            "uti": entropy.hex_id(entropy.CODES),
        }
        return self.sign(claims)

    def sign(self, claims: dict[str, Any]) -> str:
        """Sign arbitrary claims (id tokens, refresh tokens, authorization codes) with the active key."""
        import jwt  # see the note at the imports

        kid, key = self.keys.active()
        return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})

    def unsign(self, token: str, audience: str) -> dict[str, Any] | None:
        """The claims of a token this server signed for ``audience``, or None when invalid or expired."""
        import jwt

        try:
            key = self.keys.public_key(str(jwt.get_unverified_header(token).get("kid", "")))
            if key is None:
                return None
            claims = dict(jwt.decode(token, key, algorithms=["RS256"], audience=audience, options=_CLOCK_CHECKS))
        except jwt.PyJWTError:
            return None
        exp = claims.get("exp")
        if exp is not None and (not isinstance(exp, int | float) or clock.now() >= exp):
            return None
        return claims

    def verify(self, token: str, audiences: frozenset[str]) -> Principal:
        """Verify signature (by a key not retired too long ago), times, issuer and audience.
        Verified tokens are cached until they expire, so a busy client pays for RSA verification
        once per token, not once per request."""
        with self._lock:
            hit = self._cache.get(token)
        if hit is not None and self.keys.accepted(hit[1]) is not None:  # its key may have been retired since
            cached = hit[0]
            exp, nbf, now = cached.claims["exp"], cached.claims["nbf"], clock.now()
            if now >= exp:
                raise _expired(exp)
            if now < nbf and nbf > clock.setting().reached:  # the clock was set back since
                raise _not_yet_valid(nbf, now)
            if cached.audience not in audiences:
                raise _wrong_audience(cached.audience, audiences)
            return cached
        import jwt

        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise TokenError("InvalidAuthenticationToken", "The access token is invalid.") from exc
        kid = str(header.get("kid", ""))
        key = self.keys.public_key(kid)
        if key is None or header.get("alg") != "RS256":
            raise TokenError(
                "InvalidAuthenticationToken",
                "The access token is invalid. The signing key could not be found (unknown or retired 'kid').",
            )
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=["RS256"],
                options={**_CLOCK_CHECKS, "verify_aud": False, "require": [*_REQUIRED]},
            )
        except jwt.InvalidSignatureError:
            raise TokenError(
                "InvalidAuthenticationToken", "The access token is invalid: its signature could not be verified."
            ) from None
        except jwt.PyJWTError as exc:
            raise TokenError("InvalidAuthenticationToken", f"The access token is invalid: {exc}.") from None
        _check_times(claims)
        principal = Principal(
            object_id=str(claims["oid"]),
            tenant_id=str(claims["tid"]),
            app_id=str(claims.get("appid", "")),
            audience=str(claims["aud"]),
            claims=claims,
        )
        expected = self.issuer(principal.tenant_id)
        if claims["iss"] != expected:
            raise _wrong_issuer(str(claims["iss"]), expected)
        if principal.audience not in audiences:
            raise _wrong_audience(principal.audience, audiences)
        with self._lock:
            self._cache[token] = (principal, kid)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return principal


# Token times are judged by the server's clock (crossconnect.clock), which the operator may move;
# PyJWT would judge them by real time.
_REQUIRED = ("exp", "nbf", "iat", "aud", "iss", "tid", "oid")
_CLOCK_CHECKS: Any = {"verify_exp": False, "verify_nbf": False, "verify_iat": False}


def _check_times(claims: dict[str, Any]) -> None:
    exp, nbf = claims["exp"], claims["nbf"]
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (exp, nbf, claims["iat"])):
        raise TokenError("InvalidAuthenticationToken", "The access token is invalid: its times are not numbers.")
    now = clock.now()
    if now >= exp:
        raise _expired(exp)
    # a token this server issued while its clock ran ahead (then set back) is not refused as early
    if now < nbf and nbf > clock.setting().reached:
        raise _not_yet_valid(nbf, now)


def _not_yet_valid(nbf: float, now: float) -> TokenError:
    return TokenError(
        "InvalidAuthenticationToken",
        f"The access token validity start time '{_utc(nbf)}' is later than current UTC time '{_utc(now)}'.",
    )


def _utc(epoch: float) -> str:
    return time.strftime("%m/%d/%Y %H:%M:%S", time.gmtime(epoch))


def _expired(exp: float) -> TokenError:
    return TokenError(
        "ExpiredAuthenticationToken",
        f"The access token expiry UTC time '{_utc(exp)}' is earlier than current UTC time '{_utc(clock.now())}'.",
    )


def _wrong_issuer(issuer: str, expected: str) -> TokenError:
    return TokenError(
        "InvalidAuthenticationTokenIssuer",
        f"The access token has been obtained from wrong issuer '{issuer}'. It should be issued by '{expected}', the "
        "issuer of its tenant on this server: get the token from this server's authority for that tenant.",
    )


def _wrong_audience(audience: str, allowed: frozenset[str]) -> TokenError:
    allowed_text = ",".join(f"'{a}'" for a in sorted(allowed))
    return TokenError(
        "InvalidAuthenticationTokenAudience",
        f"The access token has been obtained for wrong audience or resource '{audience}'. "
        f"It should exactly match with one of the allowed audiences {allowed_text}.",
    )
