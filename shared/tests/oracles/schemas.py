"""Validates documents against exported JSON Schemas with an independent validator.

usage: schemas.py DIR  (DIR holds KIND.schema.json files and KIND.*.doc.json documents)
Prints {document file: [error messages]} as JSON.
"""
import json
import pathlib
import sys

import jsonschema

d = pathlib.Path(sys.argv[1])
out = {}
for doc in sorted(d.glob("*.doc.json")):
    kind = doc.name.split(".")[0]
    schema = json.loads((d / f"{kind}.schema.json").read_text())
    validator = jsonschema.Draft202012Validator(schema)
    out[doc.name] = sorted(e.message for e in validator.iter_errors(json.loads(doc.read_text())))
print(json.dumps(out))
