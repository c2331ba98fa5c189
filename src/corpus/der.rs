//! A minimal DER writer for the structures the generator emits by hand (PKCS#7 SignedData),
//! so their bytes are exactly what sign-file writes rather than what a DER library prefers.

/// Encodes one element (definite length in the fewest octets, as DER requires).
pub fn tlv(tag: u8, contents: &[u8]) -> Vec<u8> {
    let n = contents.len();
    let mut v = Vec::with_capacity(n + 10);
    v.push(tag);
    if n < 0x80 {
        v.push(n as u8);
    } else {
        let be = n.to_be_bytes();
        let skip = be.iter().take_while(|b| **b == 0).count();
        let octets = &be[skip..];
        v.push(0x80 | octets.len() as u8);
        v.extend_from_slice(octets);
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

/// Encodes an OBJECT IDENTIFIER from its content octets (the [`crate::oid`] constants).
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

/// The arcs of an OBJECT IDENTIFIER given by its content octets (`2.5.29.14` for
/// [`crate::oid::SKID`]), for APIs that name OIDs by arcs, such as rcgen's custom
/// extensions. Each base-128 subidentifier is one arc, the first holding two.
pub fn oid_arcs(contents: &[u8]) -> Vec<u64> {
    let mut arcs = Vec::new();
    let mut v = 0u64;
    for &b in contents {
        v = (v << 7) | u64::from(b & 0x7f);
        if b & 0x80 != 0 {
            continue;
        }
        if arcs.is_empty() {
            let first = (v / 40).min(2);
            arcs.extend([first, v - 40 * first]);
        } else {
            arcs.push(v);
        }
        v = 0;
    }
    arcs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::asn1::Reader;

    #[test]
    fn lengths_round_trip() {
        for n in [0usize, 5, 127, 128, 255, 256, 4000, 0xffff] {
            let e = tlv(0x04, &vec![7u8; n]);
            let got = Reader::new(&e).read().unwrap();
            assert_eq!(got.contents.len(), n);
        }
        // The short and long forms, exactly (the kernel's reader stops at two octets).
        assert_eq!(tlv(0x04, &[0; 0x7f])[..2], [0x04, 0x7f]);
        assert_eq!(tlv(0x04, &[0; 0x80])[..3], [0x04, 0x81, 0x80]);
        assert_eq!(tlv(0x04, &[0; 0xff])[..3], [0x04, 0x81, 0xff]);
        assert_eq!(tlv(0x04, &[0; 0x100])[..4], [0x04, 0x82, 0x01, 0x00]);
        assert_eq!(
            tlv(0x04, &[0; 0x10000])[..5],
            [0x04, 0x83, 0x01, 0x00, 0x00]
        );
    }

    #[test]
    fn oid_arcs_decode_the_constants() {
        use crate::oid;
        assert_eq!(oid_arcs(oid::SKID), [2, 5, 29, 14]);
        assert_eq!(oid_arcs(oid::SHA256), [2, 16, 840, 1, 101, 3, 4, 2, 1]);
        assert_eq!(
            oid_arcs(oid::MS_INDIRECT_DATA),
            [1, 3, 6, 1, 4, 1, 311, 2, 1, 4]
        );
        assert_eq!(oid_arcs(oid::CURVE_P384), [1, 3, 132, 0, 34]);
    }
}
