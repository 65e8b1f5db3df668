#!/usr/bin/env bash
# Placeholder: the end-to-end demo (snapshot and restore of a Bitbucket-like
# home and database) is wired here later.
set -euo pipefail
echo "demo not yet wired" >&2
exit 1
