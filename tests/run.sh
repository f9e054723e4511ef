#!/usr/bin/env bash
# README's test command: prepares what the tests need on a fresh machine of the project's kind
# (Debian, root, packages installable by name), then runs every test. Each step is skipped when
# its part is already there, so it is cheap to run again.
#   tests/run.sh [cargo test arguments...]
set -euo pipefail
cd "$(dirname "$0")/.."

# Referee implementations for the end-to-end tests (Argon2 hashes, JWTs, OpenAPI documents,
# an SMTP server that keeps what it receives), and the language-server client.
if ! python3 -c 'import argon2, jwt, cryptography, openapi_spec_validator, aiosmtpd, pytest_lsp' 2>/dev/null; then
    echo "tests/run.sh: installing the Python referees (argon2-cffi, PyJWT with cryptography, openapi-spec-validator, aiosmtpd) and pytest-lsp" >&2
    python3 -m pip install --quiet --disable-pip-version-check argon2-cffi PyJWT cryptography openapi-spec-validator aiosmtpd pytest-lsp
fi

# npm fetches AsyncAPI's own JSON schema (@asyncapi/specs), the referee for /asyncapi.json.
if ! command -v npm >/dev/null; then
    echo "tests/run.sh: installing Debian's npm" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q npm >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q npm >/dev/null; }
fi

# A real browser for the /docs test.
if ! command -v chromium >/dev/null; then
    echo "tests/run.sh: installing Debian's chromium" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q chromium >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null; }
fi

# PostgreSQL on 127.0.0.1:5432, user postgres, trust auth.
if ! pg_isready -q -h 127.0.0.1 -p 5432; then
    echo "tests/run.sh: starting PostgreSQL" >&2
    pg_ctlcluster 15 main start || true
    for _ in $(seq 1 30); do
        pg_isready -q -h 127.0.0.1 -p 5432 && break
        sleep 1
    done
fi

# One layout for the whole tree (rustfmt.toml), and no clippy warning.
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings

# The dependency tree: licences, duplicate versions and sources, as deny.toml says (advisories
# need RustSec's database from GitHub, which these machines cannot reach).
if ! command -v cargo-deny >/dev/null; then
    echo "tests/run.sh: installing cargo-deny" >&2
    cargo install --locked --quiet cargo-deny@0.20.2
fi
cargo deny --locked check licenses bans sources

exec cargo test --workspace --locked "$@"
