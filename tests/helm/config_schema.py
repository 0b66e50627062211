#!/usr/bin/python3
"""Keeps the `config` part of helm/deltaport/values.schema.json generated from
the configuration table: definitions.deltaportConfig must equal the output of
`deltaport config schema` (without its "$schema"), so a key the worker would
refuse fails at `helm template`.

  config_schema.py --deltaport BIN --chart DIR           check (exit 1 if stale)
  config_schema.py --deltaport BIN --chart DIR --write   regenerate
"""
import argparse
import json
import os
import subprocess
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--deltaport", required=True)
    ap.add_argument("--chart", required=True)
    ap.add_argument("--write", action="store_true")
    a = ap.parse_args()
    out = subprocess.run([a.deltaport, "config", "schema"], stdout=subprocess.PIPE, check=True)
    generated = json.loads(out.stdout)
    generated.pop("$schema", None)
    path = os.path.join(a.chart, "values.schema.json")
    schema = json.load(open(path))
    current = schema.get("definitions", {}).get("deltaportConfig")
    if a.write:
        schema.setdefault("definitions", {})["deltaportConfig"] = generated
        with open(path, "w") as f:
            json.dump(schema, f, indent=2)
            f.write("\n")
        print("config_schema: wrote definitions.deltaportConfig into %s" % path)
        return 0
    if current != generated:
        print("config_schema: FAIL: %s definitions.deltaportConfig differs from `deltaport config "
              "schema`; regenerate: python3 tests/helm/config_schema.py --deltaport <build>/src/deltaport "
              "--chart helm/deltaport --write" % path)
        return 1
    print("config_schema: values.schema.json's config schema is the configuration table's")
    return 0


if __name__ == "__main__":
    sys.exit(main())
