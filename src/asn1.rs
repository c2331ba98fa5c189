//! A minimal DER element reader with the kernel ASN.1 decoder's limits.
//!
//! The X.509 and CMS crates walk the outer structures; this reader handles the few inner
//! encodings that the kernel decodes by hand (extension payloads, the AKID, RSA public keys,
//! ECDSA signatures) where the kernel's own quirks decide the verdict and a strict DER parser
//! would disagree with it. It never allocates and never panics on any input.

use crate::errno::{Errno, KResult};

/// Universal tags used by the hand-decoded structures.
pub mod tag {
    pub const BOOLEAN: u8 = 0x01;
    pub const INTEGER: u8 = 0x02;
    pub const BIT_STRING: u8 = 0x03;
    pub const OCTET_STRING: u8 = 0x04;
    pub const NULL: u8 = 0x05;
    pub const OID: u8 = 0x06;
    pub const SEQUENCE: u8 = 0x30;
    pub const SET: u8 = 0x31;
}

/// One TLV element: its tag byte, its contents and the full encoding (header included).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Element<'a> {
    pub tag: u8,
    pub contents: &'a [u8],
    pub encoded: &'a [u8],
}

/// Sequential reader over concatenated elements.
#[derive(Clone, Copy, Debug)]
pub struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Reader { rest: bytes }
    }

    pub fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    /// The unread bytes.
    pub fn rest(&self) -> &'a [u8] {
        self.rest
    }

    /// Reads the next element, as lib/asn1_decoder.c does: multi-byte tags and length fields
    /// longer than two octets are `EBADMSG`; constructed elements may use the indefinite
    /// length form (contents end at the matching end-of-contents `00 00`, which `encoded`
    /// includes), measured as [`indefinite_len`] does.
    pub fn read(&mut self) -> KResult<Element<'a>> {
        let b = self.rest;
        if b.len() < 2 {
            return Err(Errno::EBADMSG);
        }
        let tag = b[0];
        if tag & 0x1f == 0x1f {
            return Err(Errno::EBADMSG);
        }
        if b[1] == 0x80 {
            if tag & 0x20 == 0 {
                return Err(Errno::EBADMSG);
            }
            let contents_len = indefinite_len(&b[2..])?;
            let end = 2 + contents_len + 2;
            self.rest = &b[end..];
            return Ok(Element {
                tag,
                contents: &b[2..2 + contents_len],
                encoded: &b[..end],
            });
        }
        let (len, hdr): (usize, usize) = match b[1] {
            l if l < 0x80 => (l as usize, 2),
            0x81 => (*b.get(2).ok_or(Errno::EBADMSG)? as usize, 3),
            0x82 => {
                let hi = *b.get(2).ok_or(Errno::EBADMSG)? as usize;
                let lo = *b.get(3).ok_or(Errno::EBADMSG)? as usize;
                ((hi << 8) | lo, 4)
            }
            _ => return Err(Errno::EBADMSG),
        };
        let end = hdr.checked_add(len).ok_or(Errno::EBADMSG)?;
        if end > b.len() {
            return Err(Errno::EBADMSG);
        }
        self.rest = &b[end..];
        Ok(Element {
            tag,
            contents: &b[hdr..end],
            encoded: &b[..end],
        })
    }

    /// Reads the next element and requires its tag.
    pub fn expect_tag(&mut self, tag: u8) -> KResult<Element<'a>> {
        let e = self.read()?;
        if e.tag != tag {
            return Err(Errno::EBADMSG);
        }
        Ok(e)
    }

    /// Reads the next element only if it carries `tag`.
    pub fn optional(&mut self, tag: u8) -> KResult<Option<Element<'a>>> {
        match self.rest.first() {
            Some(&t) if t == tag => self.read().map(Some),
            _ => Ok(None),
        }
    }
}

/// The contents length of an indefinite-length element whose contents start `b`, found as
/// the kernel's `asn1_find_indefinite_length` finds it: one pass with a nesting counter
/// (no recursion, so no depth limit and no stack to exhaust: the kernel has none either,
/// and thousands of nested `30 80` are skipped as one element). Inside, the kernel is
/// laxer than its main decoder: multi-byte tags are skipped, definite lengths may take up
/// to seven octets, and only what overruns the data, a primitive with the indefinite
/// form, an end-of-contents with a non-zero length octet or a missing end-of-contents is
/// `EBADMSG`. The end-of-contents octets that close the element are not counted.
pub fn indefinite_len(b: &[u8]) -> KResult<usize> {
    let mut dp = 0usize;
    let mut level = 1usize;
    loop {
        if b.len() - dp < 2 {
            return Err(Errno::EBADMSG);
        }
        let tag = b[dp];
        dp += 1;
        if tag == 0 {
            if b[dp] != 0 {
                return Err(Errno::EBADMSG);
            }
            dp += 1;
            level -= 1;
            if level == 0 {
                return Ok(dp - 2);
            }
            continue;
        }
        if tag & 0x1f == 0x1f {
            loop {
                if b.len() - dp < 2 {
                    return Err(Errno::EBADMSG);
                }
                let t = b[dp];
                dp += 1;
                if t & 0x80 == 0 {
                    break;
                }
            }
        }
        let l = b[dp];
        dp += 1;
        let len = if l <= 0x7f {
            usize::from(l)
        } else if l == 0x80 {
            if tag & 0x20 == 0 {
                return Err(Errno::EBADMSG);
            }
            level += 1;
            continue;
        } else {
            let n = usize::from(l - 0x80);
            if n > std::mem::size_of::<usize>() - 1 || n > b.len() - dp {
                return Err(Errno::EBADMSG);
            }
            let mut len = 0usize;
            for &o in &b[dp..dp + n] {
                len = (len << 8) | usize::from(o);
            }
            dp += n;
            len
        };
        if len > b.len() - dp {
            return Err(Errno::EBADMSG);
        }
        dp += len;
    }
}

/// Returns the contents of a single element that must span all of `bytes`.
pub fn single(bytes: &[u8], tag: u8) -> KResult<Element<'_>> {
    let mut r = Reader::new(bytes);
    let e = r.expect_tag(tag)?;
    if !r.is_empty() {
        return Err(Errno::EBADMSG);
    }
    Ok(e)
}

/// Strips the tag and length of a DER element, returning its contents (used for Names
/// handed over with their header by the X.509 crate).
pub fn contents_of(encoded: &[u8]) -> KResult<&[u8]> {
    let mut r = Reader::new(encoded);
    Ok(r.read()?.contents)
}

/// Unsigned big-endian integer contents with leading zero octets removed.
pub fn strip_leading_zeros(mut v: &[u8]) -> &[u8] {
    while let [0, rest @ ..] = v {
        v = rest;
    }
    v
}

/// The kernel's `x509_decode_time`, shared by X.509 validity and PKCS#7 signingTime:
/// UTCTime exactly `YYMMDDHHMMSSZ` (YY ≥ 50 → 19YY), GeneralizedTime exactly
/// `YYYYMMDDHHMMSSZ` but not for 1950–2049; years before 1970, impossible dates, hour > 24,
/// minute > 59 or second > 60 are refused; hour 24 and second 60 are not.
///
/// Returns seconds since the epoch, as the kernel's time64 (`mktime64`): hour 24 and second
/// 60 simply carry into the next day or minute. The value matters where the kernel compares
/// times: a PKCS#7 signingTime against the embedded signer's validity (pkcs7_verify_one).
pub fn decode_time(e: Element<'_>) -> KResult<i64> {
    let p = e.contents;
    let d2 = |i: usize| -> KResult<u32> {
        let a = p.get(i).copied().ok_or(Errno::EBADMSG)?.wrapping_sub(b'0');
        let b = p
            .get(i + 1)
            .copied()
            .ok_or(Errno::EBADMSG)?
            .wrapping_sub(b'0');
        if a > 9 || b > 9 {
            return Err(Errno::EBADMSG);
        }
        Ok(a as u32 * 10 + b as u32)
    };
    let (year, rest) = match e.tag {
        0x17 => {
            if p.len() != 13 {
                return Err(Errno::EBADMSG);
            }
            let y = d2(0)?;
            (if y >= 50 { 1900 + y } else { 2000 + y }, 2)
        }
        0x18 => {
            if p.len() != 15 {
                return Err(Errno::EBADMSG);
            }
            let y = d2(0)? * 100 + d2(2)?;
            if (1950..=2049).contains(&y) {
                return Err(Errno::EBADMSG);
            }
            (y, 4)
        }
        _ => return Err(Errno::EBADMSG),
    };
    let (mon, day, hour, min, sec) = (
        d2(rest)?,
        d2(rest + 2)?,
        d2(rest + 4)?,
        d2(rest + 6)?,
        d2(rest + 8)?,
    );
    if p[rest + 10] != b'Z' {
        return Err(Errno::EBADMSG);
    }
    if year < 1970 || !(1..=12).contains(&mon) {
        return Err(Errno::EBADMSG);
    }
    const LEN: [u32; 12] = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    let mut mon_len = LEN[mon as usize - 1];
    if mon == 2 && year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) {
        mon_len = 29;
    }
    if day < 1 || day > mon_len || hour > 24 || min > 59 || sec > 60 {
        return Err(Errno::EBADMSG);
    }
    Ok(epoch_seconds(year, mon, day, hour, min, sec))
}

/// Seconds since 1970-01-01T00:00:00 for a proleptic Gregorian date, counting days with
/// March as the first month of the year so that the leap day falls last.
fn epoch_seconds(year: u32, mon: u32, day: u32, hour: u32, min: u32, sec: u32) -> i64 {
    let (y, m) = if mon <= 2 {
        (i64::from(year) - 1, i64::from(mon) + 9)
    } else {
        (i64::from(year), i64::from(mon) - 3)
    };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let day_of_year = (153 * m + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    let days = era * 146_097 + day_of_era - 719_468;
    ((days * 24 + i64::from(hour)) * 60 + i64::from(min)) * 60 + i64::from(sec)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_short_and_long_forms() {
        let mut r = Reader::new(&[0x04, 0x01, 0xaa, 0x30, 0x81, 0x01, 0x05]);
        let e = r.read().unwrap();
        assert_eq!((e.tag, e.contents), (0x04, &[0xaa][..]));
        let e = r.read().unwrap();
        assert_eq!((e.tag, e.contents), (0x30, &[0x05][..]));
        assert!(r.is_empty());
    }

    #[test]
    fn rejects_truncation_and_long_lengths() {
        assert_eq!(Reader::new(&[0x04, 0x05, 0]).read(), Err(Errno::EBADMSG));
        assert_eq!(
            Reader::new(&[0x04, 0x83, 0, 0, 1, 0]).read(),
            Err(Errno::EBADMSG)
        );
        assert_eq!(Reader::new(&[0x1f, 0x01, 0]).read(), Err(Errno::EBADMSG));
        assert_eq!(Reader::new(&[0x04]).read(), Err(Errno::EBADMSG));
    }

    #[test]
    fn times_are_seconds_since_the_epoch() {
        let t = |tag: u8, s: &str| {
            let mut v = vec![tag, s.len() as u8];
            v.extend_from_slice(s.as_bytes());
            decode_time(Reader::new(&v).read().unwrap())
        };
        assert_eq!(t(0x17, "700101000000Z"), Ok(0));
        assert_eq!(t(0x17, "000229120000Z"), Ok(951_825_600));
        assert_eq!(t(0x17, "261231235959Z"), Ok(1_798_761_599));
        // Hour 24 and second 60 carry over, as in the kernel's mktime64.
        assert_eq!(t(0x17, "261231240000Z"), Ok(1_798_761_600));
        assert_eq!(t(0x17, "261231235960Z"), Ok(1_798_761_600));
        assert_eq!(t(0x18, "21000301000000Z"), Ok(4_107_542_400));
        assert_eq!(t(0x18, "21000229000000Z"), Err(Errno::EBADMSG));
        assert_eq!(t(0x18, "24000229000000Z"), Ok(13_574_563_200));
    }

    #[test]
    fn indefinite_lengths_for_constructed_only() {
        let mut r = Reader::new(&[0x30, 0x80, 0x04, 0x01, 0xaa, 0x00, 0x00, 0x05, 0x00]);
        let e = r.read().unwrap();
        assert_eq!(e.contents, &[0x04, 0x01, 0xaa]);
        assert_eq!(e.encoded.len(), 7);
        assert_eq!(r.read().unwrap().tag, 0x05);
        assert_eq!(Reader::new(&[0x04, 0x80, 0, 0]).read(), Err(Errno::EBADMSG));
        assert_eq!(
            Reader::new(&[0x30, 0x80, 0x04, 0x01]).read(),
            Err(Errno::EBADMSG)
        );
    }

    /// Indefinite-length nesting is skipped as the kernel skips it: thousands deep in one
    /// pass (no recursion limit, no stack), with the laxer inner rules of
    /// asn1_find_indefinite_length (long tags, lengths up to seven octets), and a missing
    /// end-of-contents is EBADMSG.
    #[test]
    fn deep_indefinite_nesting_is_one_element() {
        for depth in [1usize, 33, 5000, 30000] {
            let mut v = Vec::new();
            for _ in 0..depth {
                v.extend_from_slice(&[0x30, 0x80]);
            }
            v.extend_from_slice(&[0x1f, 0x81, 0x01, 0x83, 0, 0, 1, 0xaa]);
            for _ in 0..depth {
                v.extend_from_slice(&[0, 0]);
            }
            v.extend_from_slice(&[0x05, 0x00]);
            let mut r = Reader::new(&v);
            let e = r.read().unwrap();
            assert_eq!(e.encoded.len(), v.len() - 2, "{depth}");
            assert_eq!(r.read().unwrap().tag, 0x05);
            let cut = &v[..v.len() - 4];
            assert_eq!(Reader::new(cut).read(), Err(Errno::EBADMSG), "{depth}");
        }
        // A primitive with the indefinite form inside, and an EOC with a length octet.
        assert_eq!(
            Reader::new(&[0x30, 0x80, 0x04, 0x80, 0, 0, 0, 0]).read(),
            Err(Errno::EBADMSG)
        );
        assert_eq!(
            Reader::new(&[0x30, 0x80, 0x00, 0x01]).read(),
            Err(Errno::EBADMSG)
        );
        // An inner length that overruns.
        assert_eq!(
            Reader::new(&[
                0x30, 0x80, 0x04, 0x88, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0
            ])
            .read(),
            Err(Errno::EBADMSG)
        );
    }
}
