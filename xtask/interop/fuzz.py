"""Property-based API fuzzing with schemathesis against a live Portcullis.

Two runs over the served OpenAPI document, each with a bounded number of examples per
operation and a fixed seed, checking that no response is a server error and that status
codes, content types and bodies match the spec:

1. the account operations (`/account/...`), as a person who signed in with the emailed code
   (read from the development outbox), owner of a vendor entity, so the step-up holds;
2. the admin and OAuth operations, with a platform-admin token from the `admin` client.

Exits non-zero if either run fails.
"""
import glob
import os
import re
import subprocess
import sys

import requests

base = os.environ["PORTCULLIS_URL"]
secret = os.environ["CLIENT_SECRET"]
outbox = os.environ["OUTBOX"]


def admin_token():
    r = requests.post(f"{base}/t/system/oauth2/token", data={"grant_type": "client_credentials"},
                      auth=("admin", secret), timeout=10)
    r.raise_for_status()
    return r.json()["access_token"]


def person_token(admin):
    h = {"Authorization": f"Bearer {admin}"}
    t = requests.post(f"{base}/admin/v1/tenants", headers=h, timeout=10,
                      json={"slug": "fuzz", "name": "Fuzz", "environment": "sandbox"})
    t.raise_for_status()
    tid = t.json()["id"]
    org = requests.post(f"{base}/admin/v1/tenants/{tid}/organizations", headers=h, timeout=10,
                        json={"kind": "vendor", "name": "Fuzz Vendor"})
    org.raise_for_status()
    password = "fuzz person password, long enough"
    u = requests.post(f"{base}/admin/v1/tenants/{tid}/users", headers=h, timeout=10, json={
        "email": "fuzz@vendor.example", "password": password, "mfa_enabled": True,
        "memberships": [{"organization_id": org.json()["id"], "role": "owner"}]})
    u.raise_for_status()
    token_url = f"{base}/t/fuzz/oauth2/token"
    r = requests.post(token_url, timeout=30, data={
        "grant_type": "password", "client_id": "portal",
        "username": "fuzz@vendor.example", "password": password})
    assert r.status_code == 403 and r.json()["error"] == "mfa_required", r.text
    mail = max(glob.glob(os.path.join(outbox, "*.eml")), key=os.path.getmtime)
    code = re.search(r"^Subject:.*?(\d{6})", open(mail).read(), re.M).group(1)
    r = requests.post(token_url, timeout=10, data={
        "grant_type": "urn:portcullis:params:oauth:grant-type:mfa-otp", "client_id": "portal",
        "mfa_token": r.json()["mfa_token"], "otp": code})
    r.raise_for_status()
    return r.json()["access_token"], org.json()["id"]


def schemathesis(token, *filters, config=None):
    cli = os.path.join(os.path.dirname(sys.executable), "schemathesis")
    result = subprocess.run(
        [
            cli, *(["--config-file", config] if config else []), "run", f"{base}/openapi.json",
            "--checks", "not_a_server_error,status_code_conformance,response_schema_conformance,content_type_conformance",
            "--max-examples", os.environ.get("FUZZ_EXAMPLES", "10"),
            "--seed", os.environ.get("FUZZ_SEED", "20261122"),
            "--header", f"Authorization: Bearer {token}",
            "--no-color",
            *filters,
        ],
        capture_output=True,
        text=True,
    )
    out = result.stdout + result.stderr
    summary = out[out.find("SUMMARY"):] if "SUMMARY" in out else out[-3000:]
    print(summary if result.returncode == 0 else out[-12000:])
    return result.returncode


admin = admin_token()
person, vendor = person_token(admin)
# Every generated `entity_id` is the person's vendor, so the handlers behind the membership
# check (creating integrations with generated bodies, listing, rotating) are reached.
config = os.path.join(outbox, "schemathesis.toml")
with open(config, "w") as f:
    f.write(f'[parameters]\n"path.entity_id" = "{vendor}"\n')
# The person first: the admin run's stateful phase may disable or delete their tenant.
print("--- as a person, signed in with the emailed code: the account API ---")
first = schemathesis(person, "--include-path-regex", "^/account", config=config)
print("--- as the platform admin: every operation but the account API ---")
second = schemathesis(admin, "--exclude-path-regex", "^/account")
sys.exit(first or second)
