"""An unmodified standard OAuth client (Authlib) against a live Portcullis.

Discovers the tenant's metadata (RFC 8414), obtains tokens with client_credentials and
client_secret_basic, client_secret_post and private_key_jwt (RFC 7523, Authlib's own
assertion), verifies a token's signature against the published JWKS with Authlib's JOSE code,
introspects (RFC 7662) and revokes (RFC 7009) it. Exits non-zero on the first failure.

`genkey DIR` first writes an RSA key pair for the private_key_jwt client: DIR/jwks.json (to
register) and DIR/private.pem (for this script).
"""
import json
import os
import sys
import time

import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.jose import JsonWebKey, JsonWebToken
from authlib.oauth2.rfc7523 import PrivateKeyJWT

if len(sys.argv) == 3 and sys.argv[1] == "genkey":
    key = JsonWebKey.generate_key("RSA", 2048, is_private=True)
    with open(os.path.join(sys.argv[2], "jwks.json"), "w") as f:
        json.dump({"keys": [key.as_dict(is_private=False, alg="RS384", use="sig")]}, f)
    with open(os.path.join(sys.argv[2], "private.pem"), "wb") as f:
        f.write(key.as_pem(is_private=True))
    sys.exit(0)

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

jwt_client = os.environ.get("JWT_CLIENT_ID")
if jwt_client:
    with open(os.environ["JWT_PRIVATE_KEY"], "rb") as f:
        private_pem = f.read()
    signed = OAuth2Session(jwt_client, private_pem, token_endpoint_auth_method="private_key_jwt")
    # Authlib's assertions live an hour by default; Portcullis takes at most 5 minutes (the
    # Redox contract), which Authlib lets a client ask for through the claims.
    claims = {"exp": int(time.time()) + 300}
    signed.register_client_auth_method(PrivateKeyJWT(meta["token_endpoint"], alg="RS384", claims=claims))
    token3 = signed.fetch_token(meta["token_endpoint"], grant_type="client_credentials")
    check("access_token" in token3, "private_key_jwt with an Authlib-signed RS384 assertion")
    check(JsonWebToken(["RS256"]).decode(token3["access_token"], jwks)["client_id"] == jwt_client, "jwt client token")

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
