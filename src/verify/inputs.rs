//! The inputs of one signature verification, extracted from an item without verifying it.
//! The measurement suite uses them to time the raw primitive (a pre-parsed key verifying a
//! real signature from the corpus) as the ceiling the engine is compared with.

use crate::crypto::{Encoding, SigAlgo, SignatureRecord, Signed};
use crate::formats::{imasig, modsig, pkcs7::Pkcs7};
use crate::hash::{Digest, HashAlgo};
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
    /// The digest that was signed (RSA, ECDSA); `None` when the algorithm takes the data
    /// (ML-DSA: `message` is then what it verifies).
    pub digest: Option<Digest>,
    /// The signature bytes.
    pub signature: Vec<u8>,
    /// The signed message: the data itself for ML-DSA; for a digest, kept only when the
    /// store's backend hashes messages itself ([`crate::crypto::Backend::hashes_message`]).
    pub message: Option<Vec<u8>>,
}

impl VerifyInputs {
    /// The record the crypto layer verifies.
    pub fn record(&self) -> SignatureRecord<'_> {
        let signed = match self.digest {
            Some(d) => Signed::Digest(d),
            None => Signed::Data {
                hash: None,
                data: self.message.as_deref().unwrap_or_default(),
            },
        };
        SignatureRecord {
            algo: self.algo,
            encoding: self.encoding,
            signed,
            signature: &self.signature,
            message: self.digest.and(self.message.as_deref()),
        }
    }

    /// The signed digest's algorithm (`None`: the algorithm takes the data).
    pub fn hash(&self) -> Option<HashAlgo> {
        self.digest.map(|d| d.algo())
    }
}

/// From a signed module: the first signerInfo and its signer in `ring`. ML-DSA signerInfos
/// without signed attributes verify the content itself, so nothing is hashed for them.
pub fn module(store: &Store, file: &[u8], ring: Serial) -> Option<VerifyInputs> {
    let m = modsig::locate(file).ok()??;
    let msg = Pkcs7::parse(m.pkcs7, &store.rules()).ok()?;
    let s = msg.signers().next()?.ok()?;
    let takes_data = matches!(s.algo, SigAlgo::MlDsa(_));
    if takes_data && s.auth_attrs.is_some() {
        return None;
    }
    let digest = match takes_data {
        true => None,
        false => Some(s.digest.digest(m.content).ok()?),
    };
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
        message: (takes_data || store.backend().hashes_message()).then(|| m.content.to_vec()),
    })
}

/// From an IMA v2 or v3 signature over a regular file: v2 signs the file digest; v3 the
/// `ima_file_id` (hashed again for RSA and ECDSA, verified as it is by ML-DSA).
pub fn ima(store: &Store, content: &[u8], xattr: &[u8]) -> Option<VerifyInputs> {
    let sig = imasig::parse(xattr, &store.rules()).ok()?;
    if sig.xattr_type != imasig::TYPE_DIGSIG {
        return None;
    }
    let file_digest = sig.hash.digest(content).ok()?;
    let key = store
        .search(
            store.system().ima,
            IdMatch::Partial(&sig.keyid.to_be_bytes()),
        )
        .ok()?;
    let algo = store.asymmetric(key)?.public.algo();
    let (digest, message) = match (sig.version, algo.takes_data()) {
        (2, false) => (
            Some(file_digest),
            store.backend().hashes_message().then(|| content.to_vec()),
        ),
        (3, takes_data) => {
            let (id, n) = imasig::v3_file_id(sig.xattr_type, &file_digest);
            let id = id[..n].to_vec();
            match takes_data {
                true => (None, Some(id)),
                false => (
                    Some(sig.hash.digest(&id).ok()?),
                    store.backend().hashes_message().then_some(id),
                ),
            }
        }
        _ => return None,
    };
    Some(VerifyInputs {
        key,
        algo: None,
        encoding: algo.native_encoding(),
        digest,
        signature: sig.signature.to_vec(),
        message,
    })
}
