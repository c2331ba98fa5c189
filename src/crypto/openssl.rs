//! OpenSSL (the system's libcrypto, through the `openssl` crate) as a backend.
//!
//! An RSA key is parsed once into an `RSA` object and only asked for the raw public
//! operation `s^e mod n` (`RSA_public_decrypt` with `RSA_NO_PADDING`, the operation
//! `EVP_PKEY_verify_recover` with no padding does, without a context allocated per call):
//! the kernel's EMSA-PKCS1-v1_5 checks then run on the result above the trait, exactly as
//! for aws-lc, and give the exact errno of every outcome, for every hash, from one
//! exponentiation. That is how this backend is errno-faithful for RSA.
//!
//! An ECDSA key (P-256, P-384, P-521) is parsed once into an `EVP_PKEY` (the point checked
//! on the curve); each verification is `EVP_PKEY_verify` over the digest at the curve's
//! native length ([`super::ecdsa_digest`]; OpenSSL truncates as the kernel does anyway). It
//! answers valid or invalid, and an invalid signature's errno comes from the kernel's DER
//! well-formedness rule ([`super::PublicKey::math`]). OpenSSL needs a fresh `EVP_PKEY_CTX`
//! per verification; that allocation (in libcrypto) is part of its figure.
//!
//! # Unsupported
//!
//! - RSA keys OpenSSL refuses to parse or to use (exponent 1 or not below the modulus, an
//!   exponent over 64 bits with a modulus over 3072 bits): [`super::Unsupported::Key`] or
//!   [`super::Unsupported::Operation`]. Every size and hash the kernel's rules let
//!   through is supported.
//! - ECDSA P-192 (never in a kernel profile either).

use super::{Backend, Curve, HashAlgo, KeySource, Math, MathInput, PkeyAlgo, PreparedKey};
use ::openssl::bn::BigNumContext;
use ::openssl::ec::{EcGroup, EcKey, EcPoint};
use ::openssl::nid::Nid;
use ::openssl::pkey::{PKey, Public};
use ::openssl::pkey_ctx::PkeyCtx;
use ::openssl::rsa::{Padding, Rsa};

/// OpenSSL.
#[derive(Debug, Default, Clone, Copy)]
pub struct OpenSsl;

impl Backend for OpenSsl {
    fn name(&self) -> &'static str {
        "openssl"
    }

    fn library(&self) -> String {
        ::openssl::version::version().to_string()
    }

    fn supports(&self, algo: PkeyAlgo, _bits: usize, _hash: HashAlgo) -> bool {
        !matches!(algo, PkeyAlgo::Ecdsa(Curve::P192))
    }

    fn prepare(&self, key: &KeySource<'_>) -> Option<Box<dyn PreparedKey>> {
        match key.algo {
            PkeyAlgo::Rsa => Some(Box::new(OpenSslRsa(
                Rsa::public_key_from_der_pkcs1(key.key).ok()?,
            ))),
            PkeyAlgo::Ecdsa(curve) => {
                let nid = match curve {
                    Curve::P256 => Nid::X9_62_PRIME256V1,
                    Curve::P384 => Nid::SECP384R1,
                    Curve::P521 => Nid::SECP521R1,
                    Curve::P192 => return None,
                };
                let group = EcGroup::from_curve_name(nid).ok()?;
                let mut ctx = BigNumContext::new().ok()?;
                let point = EcPoint::from_bytes(&group, key.key, &mut ctx).ok()?;
                let ec = EcKey::from_public_key(&group, &point).ok()?;
                ec.check_key().ok()?;
                Some(Box::new(OpenSslEc(PKey::from_ec_key(ec).ok()?)))
            }
            PkeyAlgo::MlDsa(_) => None,
        }
    }
}

/// An OpenSSL `RSA` public key, for the raw operation.
struct OpenSslRsa(Rsa<Public>);

impl PreparedKey for OpenSslRsa {
    fn rsa_public(&self, signature: &[u8], out: &mut [u8]) -> Option<()> {
        if self.0.size() as usize != out.len() || signature.len() != out.len() {
            return None;
        }
        match self.0.public_decrypt(signature, out, Padding::NONE) {
            Ok(n) if n == out.len() => Some(()),
            _ => None,
        }
    }
}

/// An OpenSSL EC public key.
struct OpenSslEc(PKey<Public>);

impl PreparedKey for OpenSslEc {
    fn verify(&self, input: &MathInput<'_>) -> Math {
        let Ok(mut ctx) = PkeyCtx::new(&self.0) else {
            return Math::Unsupported;
        };
        if ctx.verify_init().is_err() {
            return Math::Unsupported;
        }
        match ctx.verify(input.digest, input.signature) {
            Ok(true) => Math::Valid,
            Ok(false) | Err(_) => Math::Invalid,
        }
    }
}
