//! Compressed modules (`.ko.gz`, `.ko.xz`, `.ko.zst`): decompressed as kmod / the kernel's
//! MODULE_DECOMPRESS do, because the appended signature is inside the compressed payload.

use std::io::Read;

/// Compression formats, recognised by magic bytes (not by file name).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    Gzip,
    Xz,
    Zstd,
}

impl Compression {
    pub fn detect(data: &[u8]) -> Option<Compression> {
        match data {
            [0x1f, 0x8b, ..] => Some(Compression::Gzip),
            [0xfd, b'7', b'z', b'X', b'Z', 0x00, ..] => Some(Compression::Xz),
            [0x28, 0xb5, 0x2f, 0xfd, ..] => Some(Compression::Zstd),
            _ => None,
        }
    }
}

/// Decompresses `data` into `out` (cleared first; capacity kept across calls).
pub fn decompress(c: Compression, data: &[u8], out: &mut Vec<u8>) -> std::io::Result<()> {
    out.clear();
    match c {
        Compression::Gzip => flate2::read::MultiGzDecoder::new(data).read_to_end(out)?,
        Compression::Xz => xz2::read::XzDecoder::new_multi_decoder(data).read_to_end(out)?,
        Compression::Zstd => zstd::stream::read::Decoder::new(data)?.read_to_end(out)?,
    };
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn round_trips_every_format() {
        let body = b"module body ~Module signature appended~\n".repeat(50);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&body).unwrap();
        let gz = gz.finish().unwrap();
        let mut xz = xz2::write::XzEncoder::new(Vec::new(), 1);
        xz.write_all(&body).unwrap();
        let xz = xz.finish().unwrap();
        let zs = zstd::stream::encode_all(&body[..], 1).unwrap();
        for (c, data) in [(Compression::Gzip, gz), (Compression::Xz, xz), (Compression::Zstd, zs)] {
            assert_eq!(Compression::detect(&data), Some(c));
            let mut out = Vec::new();
            decompress(c, &data, &mut out).unwrap();
            assert_eq!(out, body);
        }
        assert_eq!(Compression::detect(b"\x7fELF"), None);
        let mut out = Vec::new();
        assert!(decompress(Compression::Xz, &[0xfd, b'7', b'z', b'X', b'Z', 0, 1], &mut out).is_err());
    }
}
