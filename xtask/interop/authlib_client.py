"""An unmodified standard OAuth client (Authlib) against a live Portcullis.

Discovers the tenant's metadata (RFC 8414), obtains a token with client_credentials and
client_secret_basic, verifies its signature against the published JWKS with Authlib's own JOSE
code, introspects (RFC 7662) and revokes (RFC 7009) it. Exits non-zero on the first failure.
"""
import os
import sys

import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.jose import JsonWebKey, JsonWebToken

base = os.environ["PORTCULLIS_URL"]
client_id = os.environ.get("CLIENT_ID", "admin")
secret = os.environ["CLIENT_SECRET"]
checks = 0


def check(cond, what):
    global checks
    if not cond:
        print(f"interop FAILED: {what}", file=sys.stderr)
        sys.exit(1)
    checks += 1


meta = requests.get(f"{base}/.well-known/oauth-authorization-server/t/system", timeout=10).json()
check(meta["issuer"] == f"{base}/t/system", "issuer")
oidc = requests.get(f"{meta['issuer']}/.well-known/openid-configuration", timeout=10).json()
check(oidc == meta, "both discovery documents agree")

session = OAuth2Session(client_id, secret, token_endpoint_auth_method="client_secret_basic")
token = session.fetch_token(meta["token_endpoint"], grant_type="client_credentials")
check(token["token_type"].lower() == "bearer", "token_type")
check(int(token["expires_in"]) > 0, "expires_in")
access = token["access_token"]

jwks = JsonWebKey.import_key_set(requests.get(meta["jwks_uri"], timeout=10).json())
claims = JsonWebToken(["RS256", "ES256"]).decode(access, jwks)
claims.validate()
check(claims["iss"] == meta["issuer"], "iss claim")
check(claims["client_id"] == client_id, "client_id claim")

post = OAuth2Session(client_id, secret, token_endpoint_auth_method="client_secret_post")
token2 = post.fetch_token(meta["token_endpoint"], grant_type="client_credentials")
check("access_token" in token2, "client_secret_post")

info = session.introspect_token(meta["introspection_endpoint"], token=access).json()
check(info["active"] is True and info["sub"] == client_id, f"introspection {info}")

resp = session.revoke_token(meta["revocation_endpoint"], token=access)
check(resp.status_code == 200, "revocation status")
info = session.introspect_token(meta["introspection_endpoint"], token=access).json()
check(info == {"active": False}, "revoked token is inactive")

bad = OAuth2Session(client_id, "wrong", token_endpoint_auth_method="client_secret_basic")
try:
    bad.fetch_token(meta["token_endpoint"], grant_type="client_credentials")
    check(False, "a wrong secret must fail")
except Exception as e:  # authlib raises OAuthError with the server's error code
    check("invalid_client" in str(e), f"wrong secret gives invalid_client: {e}")

print(f"authlib interop: {checks} checks passed")
