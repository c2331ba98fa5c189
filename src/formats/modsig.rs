//! The appended module signature trailer (include/linux/module_signature.h):
//! `[content][PKCS#7][module_signature: 12 bytes]["~Module signature appended~\n"]`.

use crate::errno::{Errno, KResult};

/// The marker string, without a terminating NUL.
pub const MARKER: &[u8] = b"~Module signature appended~\n";
/// `sizeof(struct module_signature)`.
pub const HEADER_LEN: usize = 12;
/// `PKEY_ID_PKCS7`.
pub const PKEY_ID_PKCS7: u8 = 2;

/// A located module signature: zero-copy views into the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ModSig<'a> {
    /// Exactly the signed bytes.
    pub content: &'a [u8],
    /// The PKCS#7 SignedData DER.
    pub pkcs7: &'a [u8],
}

/// Whether the file ends with the marker (the module loader's "is it signed" test).
pub fn has_marker(file: &[u8]) -> bool {
    file.len() > MARKER.len() && file.ends_with(MARKER)
}

/// Locates the signature as the module loader does. `Ok(None)` is an unsigned module
/// (the loader's `ENODATA`); malformed trailers give `EBADMSG`, a non-PKCS#7 id type
/// `ENOPKG` (`mod_check_sig`).
pub fn locate(file: &[u8]) -> KResult<Option<ModSig<'_>>> {
    if !has_marker(file) {
        return Ok(None);
    }
    let body = &file[..file.len() - MARKER.len()];
    if body.len() <= HEADER_LEN {
        return Err(Errno::EBADMSG);
    }
    let hdr = &body[body.len() - HEADER_LEN..];
    let sig_len = u32::from_be_bytes([hdr[8], hdr[9], hdr[10], hdr[11]]) as usize;
    let avail = body.len() - HEADER_LEN;
    if sig_len >= avail {
        return Err(Errno::EBADMSG);
    }
    if hdr[2] != PKEY_ID_PKCS7 {
        return Err(Errno::ENOPKG);
    }
    if hdr[0] != 0 || hdr[1] != 0 || hdr[3] != 0 || hdr[4] != 0 || hdr[5..8] != [0, 0, 0] {
        return Err(Errno::EBADMSG);
    }
    let content_len = avail - sig_len;
    Ok(Some(ModSig {
        content: &body[..content_len],
        pkcs7: &body[content_len..avail],
    }))
}

/// Builds a trailer for `pkcs7` (what sign-file appends); used by tests and the corpus
/// generator.
pub fn trailer(pkcs7_len: usize) -> [u8; HEADER_LEN + MARKER.len()] {
    let mut t = [0u8; HEADER_LEN + MARKER.len()];
    t[2] = PKEY_ID_PKCS7;
    t[8..12].copy_from_slice(&(pkcs7_len as u32).to_be_bytes());
    t[HEADER_LEN..].copy_from_slice(MARKER);
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signed(content: &[u8], sig: &[u8]) -> Vec<u8> {
        let mut v = content.to_vec();
        v.extend_from_slice(sig);
        v.extend_from_slice(&trailer(sig.len()));
        v
    }

    #[test]
    fn locates_content_and_signature() {
        let f = signed(b"module body", b"SIG");
        let m = locate(&f).unwrap().unwrap();
        assert_eq!(m.content, b"module body");
        assert_eq!(m.pkcs7, b"SIG");
    }

    #[test]
    fn trailer_errors_follow_the_loader() {
        assert_eq!(locate(b"no marker here"), Ok(None));
        assert_eq!(locate(MARKER), Ok(None));
        // Signature would leave no content byte.
        let f = signed(b"", b"SIG");
        assert_eq!(locate(&f), Err(Errno::EBADMSG));
        let mut f = signed(b"body", b"SIG");
        let h = f.len() - MARKER.len() - HEADER_LEN;
        f[h + 2] = 1;
        assert_eq!(locate(&f), Err(Errno::ENOPKG));
        f[h + 2] = 2;
        f[h + 6] = 1;
        assert_eq!(locate(&f), Err(Errno::EBADMSG));
        f[h + 6] = 0;
        f[h + 8] = 0xff;
        assert_eq!(locate(&f), Err(Errno::EBADMSG));
        let mut short = vec![0u8; 5];
        short.extend_from_slice(MARKER);
        assert_eq!(locate(&short), Err(Errno::EBADMSG));
    }
}
