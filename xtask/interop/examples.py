"""Every example in the OpenAPI document is valid against the schema it illustrates.

Checks schema-level examples (components and inline), media-type examples of request bodies
and responses, and parameter examples, with JSON Schema 2020-12 (the dialect of OpenAPI 3.1),
`$ref`s resolved within the document. Prints each invalid example and exits 1 if any.
"""
import json
import sys

import jsonschema
from referencing import Registry
from referencing.jsonschema import DRAFT202012

spec = json.load(open(sys.argv[1]))
registry = Registry().with_resource("urn:spec", DRAFT202012.create_resource(spec))


def validate(schema, example, where):
    validator = jsonschema.Draft202012Validator(
        {"$ref": "urn:spec#" + schema["$ref"][1:]} if "$ref" in schema else {**schema, "$id": "urn:inline"},
        registry=registry,
    )
    errors = sorted(validator.iter_errors(example), key=lambda e: list(e.path))
    for e in errors:
        print(f"{where}: {'/'.join(map(str, e.path)) or '(root)'}: {e.message}")
    return len(errors)


failures = 0
checked = 0
for name, schema in spec.get("components", {}).get("schemas", {}).items():
    if "example" in schema:
        checked += 1
        failures += validate({"$ref": f"#/components/schemas/{name}"}, schema["example"], f"schema {name}")

for path, item in spec["paths"].items():
    for method, op in item.items():
        where = f"{method.upper()} {path}"
        for p in op.get("parameters", []):
            if "example" in p and "schema" in p:
                checked += 1
                failures += validate(p["schema"], p["example"], f"{where} parameter {p['name']}")
        bodies = [("request", op.get("requestBody", {}))]
        bodies += [(f"response {code}", r) for code, r in op.get("responses", {}).items()]
        for label, holder in bodies:
            for mt, media in holder.get("content", {}).items():
                schema = media.get("schema")
                if schema is None:
                    continue
                if "example" in media:
                    checked += 1
                    failures += validate(schema, media["example"], f"{where} {label} {mt}")
                for ex_name, ex in media.get("examples", {}).items():
                    if "value" in ex:
                        checked += 1
                        failures += validate(schema, ex["value"], f"{where} {label} {mt} ({ex_name})")

print(f"examples: {checked} checked, {failures} problem(s)")
sys.exit(1 if failures else 0)
