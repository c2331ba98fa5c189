//! The inputs of one signature verification, extracted from an item without verifying it.
//! The measurement suite uses them to time the raw primitive (a pre-parsed key verifying a
//! real signature from the corpus) as the ceiling the engine is compared with.

use crate::crypto::{Encoding, PkeyAlgo, SigAlgo, SignatureRecord};
use crate::formats::{imasig, modsig, pkcs7::Pkcs7};
use crate::hash::Digest;
use crate::trust::store::{IdMatch, Store};
use crate::trust::Serial;

/// A signature with the key that should verify it.
#[derive(Clone, Debug)]
pub struct VerifyInputs {
    /// The key that should verify it.
    pub key: Serial,
    /// The signerInfo's algorithm (modules); `None` for IMA (taken from the key).
    pub algo: Option<SigAlgo>,
    /// How the signature is encoded.
    pub encoding: Encoding,
    /// The digest that was signed.
    pub digest: Digest,
    /// The signature bytes.
    pub signature: Vec<u8>,
    /// The signed message, kept only when the store's backend hashes messages itself
    /// ([`crate::crypto::Backend::hashes_message`]).
    pub message: Option<Vec<u8>>,
}

impl VerifyInputs {
    /// The record the crypto layer verifies.
    pub fn record(&self) -> SignatureRecord<'_> {
        SignatureRecord {
            algo: self.algo,
            encoding: self.encoding,
            digest: self.digest,
            signature: &self.signature,
            message: self.message.as_deref(),
        }
    }
}

/// From a signed module: the first signerInfo and its signer in `ring`.
pub fn module(store: &Store, file: &[u8], ring: Serial) -> Option<VerifyInputs> {
    let m = modsig::locate(file).ok()??;
    let msg = Pkcs7::parse(m.pkcs7).ok()?;
    let s = msg.signers().next()?.ok()?;
    let digest = s.digest.digest(m.content).ok()?;
    let mut buf = [0u8; 512];
    let mut spill = Vec::new();
    let id0 = s.sid.auth_id0(&mut buf, &mut spill);
    let key = store
        .find_asymmetric_key(ring, Some(id0), None, None)
        .ok()?;
    Some(VerifyInputs {
        key,
        algo: Some(s.algo),
        encoding: s.encoding,
        digest,
        signature: s.signature.to_vec(),
        message: store.backend().hashes_message().then(|| m.content.to_vec()),
    })
}

/// From an IMA v2 signature.
pub fn ima(store: &Store, content: &[u8], xattr: &[u8]) -> Option<VerifyInputs> {
    let sig = imasig::parse(xattr).ok()?;
    if sig.version != 2 {
        return None;
    }
    let digest = sig.hash.digest(content).ok()?;
    let key = store
        .search(
            store.system().ima,
            IdMatch::Partial(&sig.keyid.to_be_bytes()),
        )
        .ok()?;
    let encoding = match store.asymmetric(key)?.public.algo() {
        PkeyAlgo::Rsa => Encoding::Pkcs1,
        PkeyAlgo::Ecdsa(_) => Encoding::X962,
        PkeyAlgo::MlDsa(_) => return None,
    };
    Some(VerifyInputs {
        key,
        algo: None,
        encoding,
        digest,
        signature: sig.signature.to_vec(),
        message: store.backend().hashes_message().then(|| content.to_vec()),
    })
}
