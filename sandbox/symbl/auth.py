"""OAuth2 application tokens: HS256 JWTs whose signing key is generated once and kept in the data dir.

Keeping the key on disk means a token issued before a restart still validates after it, as with the real
service.
"""

from __future__ import annotations

import hmac
import secrets
import time
import uuid
from typing import Any

import jwt
from starlette.requests import Request

from sandbox.symbl.errors import TOKEN_INVALID_MESSAGE, SymblError
from sandbox.symbl.repository import SymblRepository

SIGNING_KEY_SETTING = "jwt_signing_key"
ALGORITHM = "HS256"


class TokenService:
    def __init__(self, repository: SymblRepository, app_id: str, app_secret: str) -> None:
        self._key = repository.get_or_create_setting(SIGNING_KEY_SETTING, lambda: secrets.token_hex(32))
        self._app_id = app_id
        self._app_secret = app_secret

    def credentials_match(self, app_id: Any, app_secret: Any) -> bool:
        if not isinstance(app_id, str) or not isinstance(app_secret, str):
            return False
        # compare_digest on both so that timing reveals neither which part was wrong nor how much matched.
        id_ok = hmac.compare_digest(app_id.encode(), self._app_id.encode())
        secret_ok = hmac.compare_digest(app_secret.encode(), self._app_secret.encode())
        return id_ok and secret_ok

    def issue(self, lifetime_seconds: int) -> str:
        now = int(time.time())
        claims = {"sub": self._app_id, "iat": now, "exp": now + lifetime_seconds, "jti": str(uuid.uuid4())}
        return jwt.encode(claims, self._key, algorithm=ALGORITHM)

    def is_valid(self, token: str) -> bool:
        try:
            claims = jwt.decode(token, self._key, algorithms=[ALGORITHM], options={"require": ["exp"]})
        except jwt.PyJWTError:
            return False
        return claims.get("sub") == self._app_id

    def require(self, request: Request) -> None:
        """401 unless a valid token comes in ``Authorization: Bearer`` or the legacy ``x-api-key``."""
        token = bearer_token(request.headers.get("authorization")) or request.headers.get("x-api-key")
        if not token or not self.is_valid(token.strip()):
            raise SymblError(401, TOKEN_INVALID_MESSAGE)


def bearer_token(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    return value.strip() or None if scheme.lower() == "bearer" else None
