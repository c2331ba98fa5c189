#!/usr/bin/env python3
"""Reference ML-DSA (FIPS 204) signer and verifier for trustbench's tests.

trustbench re-implements the Linux kernel's ML-DSA verification; its tests need
signatures, keys and certificates made by tools nobody on the project wrote, so that
"we verify theirs and they verify ours" means something. This CLI drives two
independent implementations:

  cryptography  pyca cryptography (its wheel bundles OpenSSL 4): ML-DSA keys from a
                seed, signing, verification, X.509 certificates (CertificateBuilder).
  dilithium     dilithium-py, a pure-Python FIPS 204 implementation.

Only the standard library and those two packages are used. Run it with the
virtual environment's python made by scripts/pq-venv.sh.

Every signature is *pure* ML-DSA (FIPS 204 Algorithm 2/3) over the raw message with
the empty context string unless --ctx is given: exactly what the kernel verifies.
Signing: dilithium-py signs deterministically (rnd = 0^32), so its signatures are
reproducible; cryptography (OpenSSL) signs hedged (randomised), so its signatures
differ from run to run while all of them verify.

Key directory (written by `keygen`, read by `sign` and `cert`):
  alg      the algorithm name (text), e.g. "ml-dsa-65"
  signer   the tool that made the key (text): "cryptography" or "dilithium"
  seed     ML-DSA and P-384: the 32-byte seed the key was derived from
  sk       what the signer needs to sign again: cryptography ML-DSA: the 32-byte seed
           (its `from_seed_bytes` input); dilithium: the FIPS 204 skEncode bytes
           (2560/4032/4896); RSA and P-384: PKCS#8 DER
  pk.raw   ML-DSA only: FIPS 204 pkEncode bytes (1312/1952/2592), rho || t1
  pk.der   SubjectPublicKeyInfo DER (every algorithm)

Both signers derive ML-DSA keys with ML-DSA.KeyGen_internal(seed) (FIPS 204
Algorithm 6), so the same seed gives the same key in both.

Exit status: 0 success (for `verify`/`verify-cert`: the signature verifies),
1 the signature does not verify (this includes a key or signature of the wrong
length, which no verifier accepts), 2 usage, input or internal error.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from datetime import datetime
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, mldsa, padding, rsa
from cryptography.x509.oid import NameOID
from dilithium_py.ml_dsa import ML_DSA_44, ML_DSA_65, ML_DSA_87

# ------------------------------------------------------------------------------------------
# Algorithms
# ------------------------------------------------------------------------------------------

MLDSA = {
    "ml-dsa-44": (mldsa.MLDSA44PrivateKey, mldsa.MLDSA44PublicKey, ML_DSA_44),
    "ml-dsa-65": (mldsa.MLDSA65PrivateKey, mldsa.MLDSA65PublicKey, ML_DSA_65),
    "ml-dsa-87": (mldsa.MLDSA87PrivateKey, mldsa.MLDSA87PublicKey, ML_DSA_87),
}
CLASSIC = ("rsa-4096", "p-384")
SIGNERS = ("cryptography", "dilithium")
# Fixed validity so that certificates depend only on their inputs.
NOT_BEFORE = "2025-01-01T00:00:00"
NOT_AFTER = "2045-01-01T00:00:00"


class Invalid(Exception):
    """The signature does not verify (exit 1)."""


class Failure(Exception):
    """Usage, input or internal error (exit 2)."""


def mldsa_tools(alg: str):
    try:
        return MLDSA[alg]
    except KeyError:
        raise Failure(f"not an ML-DSA parameter set: {alg!r}") from None


# ------------------------------------------------------------------------------------------
# Keys
# ------------------------------------------------------------------------------------------


def mldsa_keygen(alg: str, signer: str, seed: bytes) -> tuple[bytes, bytes]:
    """(pkEncode bytes, the signer's signing key) for `seed`, per FIPS 204 KeyGen_internal."""
    if len(seed) != 32:
        raise Failure("an ML-DSA seed is 32 bytes")
    priv_cls, _, dpy = mldsa_tools(alg)
    if signer == "cryptography":
        key = priv_cls.from_seed_bytes(seed)
        return key.public_key().public_bytes_raw(), key.private_bytes_raw()
    if signer == "dilithium":
        pk, sk = dpy.key_derive(seed)
        return pk, sk
    raise Failure(f"unknown signer {signer!r}")


def p384_from_seed(seed: bytes) -> ec.EllipticCurvePrivateKey:
    """A P-384 key derived from a seed: scalar = SHA-512(seed) mod (n - 1) + 1."""
    n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF581A0DB248B0A77AECEC196ACCC52973
    d = int.from_bytes(hashlib.sha512(b"trustbench-p384" + seed).digest(), "big") % (n - 1) + 1
    return ec.derive_private_key(d, ec.SECP384R1())


def spki_der(public_key) -> bytes:
    return public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def write_key_dir(d: Path, alg: str, signer: str, files: dict[str, bytes]) -> None:
    d.mkdir(parents=True, exist_ok=True)
    (d / "alg").write_text(alg + "\n")
    (d / "signer").write_text(signer + "\n")
    for name, data in files.items():
        (d / name).write_bytes(data)


def read_text(d: Path, name: str) -> str:
    try:
        return (d / name).read_text().strip()
    except OSError as e:
        raise Failure(f"{d}: not a key directory ({e})") from None


def key_dir_alg(d: Path, claimed: str | None) -> str:
    alg = read_text(d, "alg")
    if claimed is not None and claimed != alg:
        raise Failure(f"{d} holds a {alg} key, not {claimed}")
    return alg


def private_key_for_x509(d: Path, claimed: str | None):
    """The key of directory `d` as a cryptography private key, to sign a certificate."""
    alg = key_dir_alg(d, claimed)
    if alg in MLDSA:
        # cryptography signs certificates; every ML-DSA key directory keeps the seed.
        return alg, MLDSA[alg][0].from_seed_bytes((d / "seed").read_bytes())
    return alg, serialization.load_der_private_key((d / "sk").read_bytes(), password=None)


def public_key_of_dir(d: Path, claimed: str | None):
    alg = key_dir_alg(d, claimed)
    return alg, serialization.load_der_public_key((d / "pk.der").read_bytes())


# ------------------------------------------------------------------------------------------
# Sign and verify
# ------------------------------------------------------------------------------------------


def mldsa_sign(alg: str, signer: str, sk: bytes, msg: bytes, ctx: bytes = b"") -> bytes:
    """Pure ML-DSA signature of `msg` with context `ctx` (FIPS 204 Algorithm 2)."""
    priv_cls, _, dpy = mldsa_tools(alg)
    if len(ctx) > 255:
        raise Failure("a context string is at most 255 bytes")
    if signer == "cryptography":
        return priv_cls.from_seed_bytes(sk).sign(msg, ctx if ctx else None)
    if signer == "dilithium":
        return dpy.sign(sk, msg, ctx=ctx, deterministic=True)
    raise Failure(f"unknown signer {signer!r}")


def mldsa_verify(alg: str, signer: str, pk: bytes, msg: bytes, sig: bytes, ctx: bytes = b"") -> None:
    """Raises Invalid unless `sig` is a pure ML-DSA signature of `msg` under `pk` and `ctx`."""
    _, pub_cls, dpy = mldsa_tools(alg)
    if len(ctx) > 255:
        raise Failure("a context string is at most 255 bytes")
    # No length checks of our own: each tool's handling of wrong-length keys and
    # signatures is part of what is being tested.
    if signer == "cryptography":
        try:
            pub_cls.from_public_bytes(pk).verify(sig, msg, ctx if ctx else None)
        except InvalidSignature:
            raise Invalid("cryptography: invalid signature") from None
        except ValueError as e:  # a key of the wrong length
            raise Invalid(f"cryptography: {e}") from None
        return
    if signer == "dilithium":
        try:
            ok = dpy.verify(pk, msg, sig, ctx=ctx)
        except ValueError as e:  # malformed encodings
            raise Invalid(f"dilithium: {e}") from None
        if not ok:
            raise Invalid("dilithium: invalid signature")
        return
    raise Failure(f"unknown signer {signer!r}")


# ------------------------------------------------------------------------------------------
# DER: just enough to find spans (the kernel works on the received bytes)
# ------------------------------------------------------------------------------------------


def der_element(buf: bytes, pos: int) -> tuple[int, int, int]:
    """(tag, start of contents, end of element) of the DER element at `pos`."""
    if pos + 2 > len(buf):
        raise Failure("truncated DER")
    tag, first = buf[pos], buf[pos + 1]
    pos += 2
    if first < 0x80:
        length = first
    else:
        n = first & 0x7F
        if n == 0 or n > 4 or pos + n > len(buf):
            raise Failure("unsupported DER length")
        length = int.from_bytes(buf[pos : pos + n], "big")
        pos += n
    if pos + length > len(buf):
        raise Failure("truncated DER")
    return tag, pos, pos + length


def tbs_span(cert_der: bytes) -> bytes:
    """The TBSCertificate exactly as it appears in the certificate, tag and length included."""
    tag, body, _ = der_element(cert_der, 0)
    if tag != 0x30:
        raise Failure("a certificate is a SEQUENCE")
    tag, _, end = der_element(cert_der, body)
    if tag != 0x30:
        raise Failure("TBSCertificate is a SEQUENCE")
    return cert_der[body:end]


def skid_method1(spki: bytes) -> bytes:
    """RFC 5280 4.2.1.2 method 1: SHA-1 of the subjectPublicKey BIT STRING contents,
    without tag, length and unused-bits byte (what the kernel's SKID names too)."""
    tag, body, _ = der_element(spki, 0)
    tag, _, alg_end = der_element(spki, body)  # AlgorithmIdentifier
    tag, bits, end = der_element(spki, alg_end)
    if tag != 0x03 or bits >= end or spki[bits] != 0:
        raise Failure("subjectPublicKey is not a BIT STRING with 0 unused bits")
    return hashlib.sha1(spki[bits + 1 : end]).digest()


# ------------------------------------------------------------------------------------------
# X.509
# ------------------------------------------------------------------------------------------


def x509_hash_for(alg: str):
    """The hash argument of CertificateBuilder.sign for an issuer key of `alg`."""
    if alg in MLDSA:
        return None  # ML-DSA signs the TBS bytes themselves
    if alg == "rsa-4096":
        return hashes.SHA256()
    if alg == "p-384":
        return hashes.SHA384()
    raise Failure(f"unsupported issuer algorithm {alg!r}")


def build_cert(
    key_dir: Path,
    alg: str | None,
    cn: str,
    ca: bool,
    issuer_cert: Path | None,
    issuer_key_dir: Path | None,
    issuer_alg: str | None,
) -> bytes:
    """A certificate for the key of `key_dir`, self-signed or issued, DER."""
    _, subject_pub = public_key_of_dir(key_dir, alg)
    subject_spki = spki_der(subject_pub)
    skid = skid_method1(subject_spki)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    if (issuer_cert is None) != (issuer_key_dir is None):
        raise Failure("--issuer-cert and --issuer-key-dir go together")
    if issuer_cert is None:
        signer_alg, signer_key = private_key_for_x509(key_dir, alg)
        issuer_name, akid = subject, skid
    else:
        signer_alg, signer_key = private_key_for_x509(issuer_key_dir, issuer_alg)
        issuer = x509.load_der_x509_certificate(issuer_cert.read_bytes())
        if spki_der(issuer.public_key()) != spki_der(signer_key.public_key()):
            raise Failure("--issuer-key-dir does not hold the key of --issuer-cert")
        issuer_name = issuer.subject
        try:
            akid = issuer.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
        except x509.ExtensionNotFound:
            akid = skid_method1(spki_der(issuer.public_key()))
    # A serial fixed by the inputs: positive, 16 bytes.
    serial = int.from_bytes(hashlib.sha256(cn.encode() + subject_spki).digest()[:16], "big") >> 1
    usage = dict(
        digital_signature=not ca,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(subject_pub)
        .serial_number(serial)
        .not_valid_before(datetime.fromisoformat(NOT_BEFORE))
        .not_valid_after(datetime.fromisoformat(NOT_AFTER))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(**usage), critical=True)
        .add_extension(x509.SubjectKeyIdentifier(skid), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier(
                key_identifier=akid, authority_cert_issuer=None, authority_cert_serial_number=None
            ),
            critical=False,
        )
    )
    cert = builder.sign(signer_key, x509_hash_for(signer_alg))
    return cert.public_bytes(serialization.Encoding.DER)


ML_DSA_SIG_OID = {
    mldsa.MLDSA44PublicKey: "2.16.840.1.101.3.4.3.17",
    mldsa.MLDSA65PublicKey: "2.16.840.1.101.3.4.3.18",
    mldsa.MLDSA87PublicKey: "2.16.840.1.101.3.4.3.19",
}


def verify_cert(cert_der: bytes, issuer_der: bytes) -> None:
    """Raises Invalid unless the issuer's public key verifies the cert's signature over its
    TBS span. The signature algorithm must suit the key (as in the kernel, an ML-DSA-44
    signature OID against an ML-DSA-65 key is a rejection, not a try)."""
    cert = x509.load_der_x509_certificate(cert_der)
    pub = x509.load_der_x509_certificate(issuer_der).public_key()
    tbs = tbs_span(cert_der)
    sig_oid = cert.signature_algorithm_oid.dotted_string
    hash_alg = cert.signature_hash_algorithm
    try:
        mldsa_oid = next((o for c, o in ML_DSA_SIG_OID.items() if isinstance(pub, c)), None)
        if mldsa_oid is not None:
            if sig_oid != mldsa_oid:
                raise Invalid(f"signature algorithm {sig_oid} does not suit the issuer's key")
            pub.verify(cert.signature, tbs)
        elif isinstance(pub, (rsa.RSAPublicKey, ec.EllipticCurvePublicKey)):
            if hash_alg is None:
                raise Invalid(f"signature algorithm {sig_oid} does not suit the issuer's key")
            if isinstance(pub, rsa.RSAPublicKey):
                pub.verify(cert.signature, tbs, padding.PKCS1v15(), hash_alg)
            else:
                pub.verify(cert.signature, tbs, ec.ECDSA(hash_alg))
        else:
            raise Failure(f"unsupported issuer key {type(pub).__name__}")
    except InvalidSignature:
        raise Invalid("certificate signature does not verify") from None


# ------------------------------------------------------------------------------------------
# CLI
# ------------------------------------------------------------------------------------------


def hex_arg(s: str) -> bytes:
    try:
        return bytes.fromhex(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not hex: {s!r}") from None


def cmd_keygen(a) -> None:
    out = Path(a.out_dir)
    if a.alg in MLDSA:
        if a.seed is None:
            raise Failure("ML-DSA keys need --seed")
        pk, sk = mldsa_keygen(a.alg, a.signer, a.seed)
        pub = MLDSA[a.alg][1].from_public_bytes(pk)
        files = {"seed": a.seed, "sk": sk, "pk.raw": pk, "pk.der": spki_der(pub)}
    else:
        if a.signer != "cryptography":
            raise Failure(f"{a.alg} keys are made with --signer cryptography")
        if a.alg == "p-384":
            if a.seed is None:
                raise Failure("P-384 keys need --seed")
            key, extra = p384_from_seed(a.seed), {"seed": a.seed}
        else:
            if a.seed is not None:
                raise Failure("RSA keys are random; --seed is not accepted")
            key, extra = rsa.generate_private_key(public_exponent=65537, key_size=4096), {}
        sk = key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        files = {**extra, "sk": sk, "pk.der": spki_der(key.public_key())}
    write_key_dir(out, a.alg, a.signer, files)


def cmd_sign(a) -> None:
    d = Path(a.key_dir)
    key_dir_alg(d, a.alg)
    made_by = read_text(d, "signer")
    # A dilithium key directory's sk is skEncode; cryptography needs the seed.
    sk = (d / ("seed" if a.signer == "cryptography" else "sk")).read_bytes()
    if a.signer == "dilithium" and made_by != "dilithium":
        sk = mldsa_keygen(a.alg, "dilithium", (d / "seed").read_bytes())[1]
    sig = mldsa_sign(a.alg, a.signer, sk, Path(a.msg).read_bytes(), a.ctx)
    Path(a.out).write_bytes(sig)


def cmd_verify(a) -> None:
    mldsa_verify(
        a.alg, a.signer, Path(a.pk).read_bytes(), Path(a.msg).read_bytes(), Path(a.sig).read_bytes(), a.ctx
    )


def cmd_cert(a) -> None:
    der = build_cert(
        Path(a.key_dir),
        a.alg,
        a.cn,
        a.ca,
        Path(a.issuer_cert) if a.issuer_cert else None,
        Path(a.issuer_key_dir) if a.issuer_key_dir else None,
        a.issuer_alg,
    )
    Path(a.out).write_bytes(der)


def cmd_verify_cert(a) -> None:
    verify_cert(Path(a.cert).read_bytes(), Path(a.issuer_cert).read_bytes())


def cmd_tbs(a) -> None:
    Path(a.out).write_bytes(tbs_span(Path(a.cert).read_bytes()))


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="pqref.py",
        description=__doc__.split("\n\n")[0],
        epilog="Exit status: 0 ok / verifies, 1 does not verify, 2 error. See the module docstring for the key directory layout.",
    )
    sub = p.add_subparsers(dest="cmd", required=True)
    algs = list(MLDSA)

    k = sub.add_parser("keygen", help="make a key directory, deterministic from --seed")
    k.add_argument("--alg", required=True, choices=algs + list(CLASSIC))
    k.add_argument("--signer", required=True, choices=SIGNERS)
    k.add_argument("--seed", type=hex_arg, help="32 bytes hex (ML-DSA, P-384; RSA keys are random)")
    k.add_argument("--out-dir", required=True)
    k.set_defaults(func=cmd_keygen)

    s = sub.add_parser("sign", help="raw pure ML-DSA signature (empty context unless --ctx)")
    s.add_argument("--alg", required=True, choices=algs)
    s.add_argument("--signer", required=True, choices=SIGNERS)
    s.add_argument("--key-dir", required=True)
    s.add_argument("--msg", required=True, help="file holding the message")
    s.add_argument("--ctx", type=hex_arg, default=b"", help="context string, hex (for negative tests)")
    s.add_argument("--out", required=True)
    s.set_defaults(func=cmd_sign)

    v = sub.add_parser("verify", help="verify a raw ML-DSA signature: exit 0 valid, 1 invalid")
    v.add_argument("--alg", required=True, choices=algs)
    v.add_argument("--signer", required=True, choices=SIGNERS)
    v.add_argument("--pk", required=True, help="file holding the pkEncode bytes")
    v.add_argument("--msg", required=True)
    v.add_argument("--sig", required=True)
    v.add_argument("--ctx", type=hex_arg, default=b"", help="context string, hex")
    v.set_defaults(func=cmd_verify)

    c = sub.add_parser(
        "cert",
        help="X.509 certificate (cryptography's CertificateBuilder), self-signed or issued",
        description="basicConstraints (critical), keyUsage (critical; CA: keyCertSign, leaf: "
        "digitalSignature), subjectKeyIdentifier (RFC 5280 method 1) and authorityKeyIdentifier "
        "(keyid = the issuer's SKID). Validity and serial are fixed by the inputs.",
    )
    c.add_argument("--alg", help="the subject key's algorithm (checked against the key directory)")
    c.add_argument("--key-dir", required=True, help="the subject key")
    c.add_argument("--issuer-cert", help="issuer certificate, DER (omit for self-signed)")
    c.add_argument("--issuer-key-dir", help="the issuer's key directory (ML-DSA, rsa-4096, p-384)")
    c.add_argument("--issuer-alg", help="the issuer key's algorithm (checked against its directory)")
    c.add_argument("--cn", required=True)
    role = c.add_mutually_exclusive_group(required=True)
    role.add_argument("--ca", dest="ca", action="store_true")
    role.add_argument("--leaf", dest="ca", action="store_false")
    c.add_argument("--out", required=True, help="certificate, DER")
    c.set_defaults(func=cmd_cert)

    vc = sub.add_parser("verify-cert", help="verify a certificate's signature with its issuer's key")
    vc.add_argument("--cert", required=True)
    vc.add_argument("--issuer-cert", required=True)
    vc.set_defaults(func=cmd_verify_cert)

    t = sub.add_parser("tbs", help="write the TBSCertificate DER span (what ML-DSA signs)")
    t.add_argument("--cert", required=True)
    t.add_argument("--out", required=True)
    t.set_defaults(func=cmd_tbs)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        args.func(args)
    except Invalid as e:
        print(f"pqref: INVALID: {e}", file=sys.stderr)
        return 1
    except (Failure, OSError, ValueError) as e:
        print(f"pqref: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
