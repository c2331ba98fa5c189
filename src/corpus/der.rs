//! A minimal DER writer for the structures the generator emits by hand (PKCS#7 SignedData).

/// Encodes one element.
pub fn tlv(tag: u8, contents: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(contents.len() + 4);
    v.push(tag);
    let n = contents.len();
    if n < 0x80 {
        v.push(n as u8);
    } else if n < 0x100 {
        v.extend_from_slice(&[0x81, n as u8]);
    } else {
        assert!(n < 0x10000, "DER element too large for this writer");
        v.extend_from_slice(&[0x82, (n >> 8) as u8, n as u8]);
    }
    v.extend_from_slice(contents);
    v
}

/// Encodes a SEQUENCE of already-encoded elements.
pub fn seq(parts: &[&[u8]]) -> Vec<u8> {
    tlv(0x30, &parts.concat())
}

/// Encodes a small non-negative INTEGER.
pub fn small_int(v: u8) -> Vec<u8> {
    tlv(0x02, &[v])
}

/// Encodes an OBJECT IDENTIFIER from its content octets.
pub fn oid(contents: &[u8]) -> Vec<u8> {
    tlv(0x06, contents)
}

/// `AlgorithmIdentifier { oid, NULL }`.
pub fn alg_null(oid_contents: &[u8]) -> Vec<u8> {
    seq(&[&oid(oid_contents), &[0x05, 0x00]])
}

/// `AlgorithmIdentifier { oid }` (no parameters, as for ecdsa-with-*).
pub fn alg(oid_contents: &[u8]) -> Vec<u8> {
    seq(&[&oid(oid_contents)])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::asn1::Reader;

    #[test]
    fn lengths_round_trip() {
        for n in [0usize, 5, 127, 128, 255, 256, 4000] {
            let e = tlv(0x04, &vec![7u8; n]);
            let got = Reader::new(&e).read().unwrap();
            assert_eq!(got.contents.len(), n);
        }
    }
}
