//! Every object identifier trustbench reads or writes, as DER OID *contents* (the bytes
//! after tag and length), written once.
//!
//! The parsers (`formats::pkcs7`, `trust::x509`), the crypto rules (curves, DigestInfo
//! prefixes) and the corpus generator (which writes what sign-file writes) all name their
//! OIDs from here, so a parser and the generator can never disagree about an identifier.
//! Grouped by the standard that assigns them.

// PKCS#1 (1.2.840.113549.1.1.*).
/// `pkcs-1` arc: the RSA signature algorithms are `PKCS1 || n`.
pub const PKCS1: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01];
/// rsaEncryption (1.2.840.113549.1.1.1): RSA keys, and PKCS#7's RSA signature algorithm.
pub const RSA_ENCRYPTION: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
/// sha256WithRSAEncryption (1.2.840.113549.1.1.11).
pub const SHA256_WITH_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b];

// PKCS#7 content types (1.2.840.113549.1.7.*).
/// id-data.
pub const DATA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01];
/// id-signedData.
pub const SIGNED_DATA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02];

// PKCS#9 attributes (1.2.840.113549.1.9.*).
/// emailAddress, a name attribute the kernel's X.509 description uses.
pub const EMAIL: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x01];
/// contentType authenticated attribute.
pub const CONTENT_TYPE: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x03];
/// messageDigest authenticated attribute.
pub const MESSAGE_DIGEST: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x04];
/// signingTime authenticated attribute.
pub const SIGNING_TIME: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x05];
/// smimeCapabilities authenticated attribute.
pub const SMIME_CAPS: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x0f];

// Microsoft Authenticode (1.3.6.1.4.1.311.2.1.*).
/// SPC_INDIRECT_DATA_OBJID: Authenticode content.
pub const MS_INDIRECT_DATA: &[u8] = &[0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x01, 0x04];
/// SPC_STATEMENT_TYPE_OBJID.
pub const MS_STATEMENT_TYPE: &[u8] = &[0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x01, 0x0b];
/// SPC_SP_OPUS_INFO_OBJID.
pub const MS_SP_OPUS_INFO: &[u8] = &[0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x01, 0x0c];

// ANSI X9.62 (1.2.840.10045.*).
/// id-ecPublicKey.
pub const EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
/// ecdsa-with-SHA1.
pub const ECDSA_SHA1: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x01];
/// ecdsa-with-SHA2 arc: `ECDSA_SHA2 || 1..4` is SHA-224/256/384/512.
pub const ECDSA_SHA2: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03];
/// prime192v1 (NIST P-192).
pub const CURVE_P192: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x01];
/// prime256v1 (NIST P-256).
pub const CURVE_P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];

// Certicom (1.3.132.0.*).
/// secp384r1 (NIST P-384).
pub const CURVE_P384: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x22];
/// secp521r1 (NIST P-521).
pub const CURVE_P521: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x23];

// NIST (2.16.840.1.101.3.4.*).
/// sigAlgs arc: `NIST_SIGALGS || n` (10..12 ecdsa-with-sha3-*, 14..16 RSA with sha3-*).
pub const NIST_SIGALGS: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x03];

/// id-ml-dsa-44 (2.16.840.1.101.3.4.3.17), FIPS 204 / RFC 9881: keys and signatures alike.
pub const ML_DSA_44: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x03, 0x11];
/// id-ml-dsa-65 (2.16.840.1.101.3.4.3.18).
pub const ML_DSA_65: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x03, 0x12];
/// id-ml-dsa-87 (2.16.840.1.101.3.4.3.19).
pub const ML_DSA_87: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x03, 0x13];

/// sha256 (2.16.840.1.101.3.4.2.1).
pub const SHA256: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01];
/// sha384 (2.16.840.1.101.3.4.2.2).
pub const SHA384: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02];
/// sha512 (2.16.840.1.101.3.4.2.3).
pub const SHA512: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03];
/// sha224 (2.16.840.1.101.3.4.2.4).
pub const SHA224: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x04];
/// sha3-256 (2.16.840.1.101.3.4.2.8).
pub const SHA3_256: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x08];
/// sha3-384 (2.16.840.1.101.3.4.2.9).
pub const SHA3_384: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x09];
/// sha3-512 (2.16.840.1.101.3.4.2.10).
pub const SHA3_512: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x0a];
/// id-shake256 (2.16.840.1.101.3.4.2.12): OpenSSL 4's default CMS digest for ML-DSA, which
/// the kernel's digest table does not know (a signerInfo naming it fails with `ENOPKG`).
pub const SHAKE256: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x0c];

// Hash algorithms outside the NIST arc.
/// md5 (1.2.840.113549.2.5).
pub const MD5: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x02, 0x05];
/// sha1 (1.3.14.3.2.26).
pub const SHA1: &[u8] = &[0x2b, 0x0e, 0x03, 0x02, 0x1a];
/// ripemd160 (1.3.36.3.2.1).
pub const RIPEMD160: &[u8] = &[0x2b, 0x24, 0x03, 0x02, 0x01];
/// SM3 (1.2.156.10197.1.401).
pub const SM3: &[u8] = &[0x2a, 0x81, 0x1c, 0xcf, 0x55, 0x01, 0x83, 0x11];
/// GOST R 34.11-2012 256 (1.2.643.7.1.1.2.2).
pub const STREEBOG256: &[u8] = &[0x2a, 0x85, 0x03, 0x07, 0x01, 0x01, 0x02, 0x02];
/// GOST R 34.11-2012 512 (1.2.643.7.1.1.2.3).
pub const STREEBOG512: &[u8] = &[0x2a, 0x85, 0x03, 0x07, 0x01, 0x01, 0x02, 0x03];
/// GOST R 34.10-2012 256-bit public key (1.2.643.7.1.1.1.1): a signerInfo algorithm the
/// kernel's PKCS#7 parser accepts ("ecrdsa").
pub const GOST2012_PKEY256: &[u8] = &[0x2a, 0x85, 0x03, 0x07, 0x01, 0x01, 0x01, 0x01];
/// GOST R 34.10-2012 512-bit public key (1.2.643.7.1.1.1.2).
pub const GOST2012_PKEY512: &[u8] = &[0x2a, 0x85, 0x03, 0x07, 0x01, 0x01, 0x01, 0x02];

// X.500 attribute types (2.5.4.*) and X.509 extensions (2.5.29.*).
/// commonName.
pub const CN: &[u8] = &[0x55, 0x04, 0x03];
/// organizationName.
pub const O: &[u8] = &[0x55, 0x04, 0x0a];
/// subjectKeyIdentifier.
pub const SKID: &[u8] = &[0x55, 0x1d, 0x0e];
/// keyUsage.
pub const KEY_USAGE: &[u8] = &[0x55, 0x1d, 0x0f];
/// basicConstraints.
pub const BASIC_CONSTRAINTS: &[u8] = &[0x55, 0x1d, 0x13];
/// authorityKeyIdentifier.
pub const AKID: &[u8] = &[0x55, 0x1d, 0x23];

/// `arc || last` when `oid` is exactly one arc longer than `arc`: the last component, for
/// the algorithm families the kernel matches by their final number.
pub fn last_under(oid: &[u8], arc: &[u8]) -> Option<u8> {
    match oid.strip_prefix(arc) {
        Some([last]) => Some(*last),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arcs_prefix_their_members() {
        assert_eq!(last_under(RSA_ENCRYPTION, PKCS1), Some(1));
        assert_eq!(last_under(SHA256_WITH_RSA, PKCS1), Some(11));
        assert_eq!(last_under(ECDSA_SHA1, ECDSA_SHA2), None);
        assert_eq!(last_under(PKCS1, PKCS1), None);
    }
}
