#!/usr/bin/env bash
# Fails when a generated file is stale: the Action bundle action/dist (rebuilt with ncc, then compared with
# the commit) and the README's Action usage block (generated from action.yml).
# Run on a clean checkout after `npm ci`; uncommitted source changes make it fail by design.
set -euo pipefail
cd "$(dirname "$0")/.."
npm run --silent build:action >/dev/null
status=0
# No --ignore-space-at-eol: with action/dist marked -diff (binary) in .gitattributes it makes git diff exit 0
# even when the bundle differs. Line endings are already normalised by `* text=auto eol=lf`.
if ! git diff --exit-code --stat -- action/dist; then
  echo "::error::action/dist is stale: run 'npm run build:action' and commit action/dist" >&2
  status=1
fi
untracked=$(git ls-files --others --exclude-standard -- action/dist)
if [ -n "$untracked" ]; then
  echo "::error::action/dist has files that are not committed:" >&2
  echo "$untracked" >&2
  status=1
fi
if ! node scripts/gen-action-docs.mjs --check; then
  echo "::error::README.md's Action usage block differs from action.yml: run 'node scripts/gen-action-docs.mjs'" >&2
  status=1
fi
exit $status
