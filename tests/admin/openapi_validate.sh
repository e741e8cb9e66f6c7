#!/bin/sh
# Validates the admin REST API's OpenAPI document with a maintained npm
# validator (@apidevtools/swagger-parser: schema and $ref checks), installed
# on first use into a cache under the build directory.
# Usage: openapi_validate.sh <openapi.yaml> <cache dir>
set -eu
doc=$1
cache=$2
version=10.1.1
mkdir -p "$cache"
if [ ! -f "$cache/node_modules/@apidevtools/swagger-parser/package.json" ]; then
  npm install --prefix "$cache" --no-audit --no-fund --loglevel=error \
    "@apidevtools/swagger-parser@$version" >&2
fi
NODE_PATH="$cache/node_modules" node -e '
const SwaggerParser = require("@apidevtools/swagger-parser");
SwaggerParser.validate(process.argv[1])
  .then(api => { console.log("valid: " + api.info.title + " " + api.info.version); })
  .catch(err => { console.error("INVALID: " + err.message); process.exit(1); });
' "$doc"
