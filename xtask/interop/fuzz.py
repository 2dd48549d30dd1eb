"""Property-based API fuzzing with schemathesis against a live Portcullis.

Gets a platform-admin token from the `admin` client, then runs schemathesis over every
operation of the served OpenAPI document with a bounded number of examples, checking that no
response is a server error, that status codes, content types and bodies match the spec.
Exits with schemathesis's status.
"""
import os
import subprocess
import sys

import requests

base = os.environ["PORTCULLIS_URL"]
secret = os.environ["CLIENT_SECRET"]
token = requests.post(
    f"{base}/t/system/oauth2/token",
    data={"grant_type": "client_credentials"},
    auth=("admin", secret),
    timeout=10,
).json()["access_token"]

cli = os.path.join(os.path.dirname(sys.executable), "schemathesis")
result = subprocess.run(
    [
        cli, "run", f"{base}/openapi.json",
        "--checks", "not_a_server_error,status_code_conformance,response_schema_conformance,content_type_conformance",
        "--max-examples", os.environ.get("FUZZ_EXAMPLES", "10"),
        "--seed", os.environ.get("FUZZ_SEED", "20261122"),
        "--header", f"Authorization: Bearer {token}",
        "--no-color",
    ],
    capture_output=True,
    text=True,
)
out = result.stdout + result.stderr
summary = out[out.find("SUMMARY"):] if "SUMMARY" in out else out[-3000:]
print(summary if result.returncode == 0 else out[-12000:])
sys.exit(result.returncode)
