#!/usr/bin/env bash
# Creates (once) the Python virtual environment holding the reference ML-DSA signers that
# tests/pq/pqref.py drives (pyca `cryptography` with its bundled OpenSSL 4, and the
# pure-Python `dilithium-py`), at the exact pins of tests/pq/requirements.txt, and prints the
# environment's python on stdout (nothing else goes to stdout).
#
# Where: ${TRUSTBENCH_PQ_VENV:-target/pq-venv}, relative to the repository root.
# Which Python: ${TRUSTBENCH_PQ_BASE_PYTHON:-python3} (needs the `venv` module).
# Idempotent: a stamp inside the environment records the SHA-256 of the requirements file;
# when it matches and the pinned versions import, the script only prints the path.
# Never installs anything outside the environment.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

venv="${TRUSTBENCH_PQ_VENV:-target/pq-venv}"
case "$venv" in /*) ;; *) venv="$root/$venv" ;; esac
req="$root/tests/pq/requirements.txt"
py="$venv/bin/python"
stamp="$venv/.trustbench-requirements.sha256"
want="$(sha256sum "$req" | cut -d' ' -f1)"

# The pinned versions, read from the requirements file so that they are written once.
pin() { sed -n "s/^$1==\([^ ]*\).*/\1/p" "$req"; }
crypto_v="$(pin cryptography)"
dilithium_v="$(pin dilithium-py)"

check() {
  "$py" - "$crypto_v" "$dilithium_v" <<'PY'
import sys
from importlib.metadata import version
import cryptography.hazmat.primitives.asymmetric.mldsa  # noqa: F401  (ML-DSA present)
import dilithium_py.ml_dsa  # noqa: F401
ok = version("cryptography") == sys.argv[1] and version("dilithium-py") == sys.argv[2]
sys.exit(0 if ok else 1)
PY
}

if [ -x "$py" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && check 2>/dev/null; then
  echo "$py"
  exit 0
fi

base="${TRUSTBENCH_PQ_BASE_PYTHON:-python3}"
command -v "$base" >/dev/null || { echo "pq-venv.sh: $base not found" >&2; exit 1; }
echo "pq-venv.sh: creating $venv with $($base --version 2>&1)" >&2
rm -rf "$venv"
mkdir -p "$(dirname "$venv")"
"$base" -m venv "$venv" >&2
# Binary wheels only (no compiler or libffi-dev needed), every file checked against its hash.
PIP_DISABLE_PIP_VERSION_CHECK=1 "$py" -m pip install --quiet --no-input \
  --only-binary=:all: --require-hashes -r "$req" >&2
check || { echo "pq-venv.sh: installed packages are not the pinned versions" >&2; exit 1; }
echo "$want" >"$stamp"
echo "$py"
