"""Authlib's OAuth2Session as a relying party of the authorization code grant with PKCE.

  authlib_code.py start   -> prints {"url", "state", "verifier"} (the authorization URL)
  authlib_code.py finish CALLBACK_URL VERIFIER STATE -> prints the token response

Environment: PORTCULLIS_URL, TENANT, CLIENT_ID, REDIRECT_URI, SCOPE.
"""
import json
import os
import sys

from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session

base = os.environ["PORTCULLIS_URL"]
tenant = os.environ["TENANT"]
issuer = f"{base}/t/{tenant}"


def session(state=None):
    return OAuth2Session(
        client_id=os.environ["CLIENT_ID"],
        redirect_uri=os.environ["REDIRECT_URI"],
        scope=os.environ["SCOPE"],
        code_challenge_method="S256",
        token_endpoint_auth_method="none",
        state=state,
    )


if sys.argv[1] == "start":
    verifier = generate_token(48)
    s = session()
    url, state = s.create_authorization_url(
        f"{issuer}/oauth2/authorize", code_verifier=verifier, nonce=generate_token(16)
    )
    print(json.dumps({"url": url, "state": state, "verifier": verifier}))
else:
    callback, verifier, state = sys.argv[2], sys.argv[3], sys.argv[4]
    s = session(state=state)
    token = s.fetch_token(
        f"{issuer}/oauth2/token",
        authorization_response=callback,
        code_verifier=verifier,
    )
    print(json.dumps(dict(token)))
