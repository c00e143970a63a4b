#!/usr/bin/env python3
"""Validates scenario files against poisonlab's JSON Schema with the `jsonschema` package.

Usage: poisonlab schema > scenario.schema.json
       python3 scripts/validate-with-schema.py scenario.schema.json FILE...
Prints `OK FILE` or `INVALID FILE: message` per file; exits 1 if any is invalid.
"""
import json
import sys

import jsonschema


def main():
    schema = json.load(open(sys.argv[1]))
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    failed = 0
    for path in sys.argv[2:]:
        errors = sorted(validator.iter_errors(json.load(open(path))), key=lambda e: list(e.absolute_path))
        if errors:
            failed += 1
            where = '.'.join(str(p) for p in errors[0].absolute_path) or '(top level)'
            print(f'INVALID {path}: {where}: {errors[0].message}')
        else:
            print(f'OK {path}')
    sys.exit(1 if failed else 0)


main()
