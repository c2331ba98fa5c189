//! Compressed modules (`.ko.gz`, `.ko.xz`, `.ko.zst`): decompressed as kmod / the kernel's
//! MODULE_DECOMPRESS do, because the appended signature is inside the compressed payload.

use std::io::Read;

/// Compression formats, recognised by magic bytes (not by file name).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    Gzip,
    Xz,
    Zstd,
    /// LZ4 legacy frames (`lz4 -l`), used for some kernel images.
    Lz4Legacy,
}

impl Compression {
    pub fn detect(data: &[u8]) -> Option<Compression> {
        match data {
            [0x1f, 0x8b, ..] => Some(Compression::Gzip),
            [0xfd, b'7', b'z', b'X', b'Z', 0x00, ..] => Some(Compression::Xz),
            [0x28, 0xb5, 0x2f, 0xfd, ..] => Some(Compression::Zstd),
            [0x02, 0x21, 0x4c, 0x18, ..] => Some(Compression::Lz4Legacy),
            _ => None,
        }
    }
}

/// Decompresses `data` into `out` (cleared first; capacity kept across calls).
pub fn decompress(c: Compression, data: &[u8], out: &mut Vec<u8>) -> std::io::Result<()> {
    out.clear();
    match c {
        // One member/stream/frame each, ignoring what follows: kernel images append their
        // uncompressed size after the compressed payload, and kmod writes single frames.
        Compression::Gzip => flate2::read::GzDecoder::new(data).read_to_end(out)?,
        Compression::Xz => xz2::read::XzDecoder::new(data).read_to_end(out)?,
        Compression::Zstd => zstd::stream::read::Decoder::new(data)?
            .single_frame()
            .read_to_end(out)?,
        Compression::Lz4Legacy => {
            lz4_legacy(data, out)?;
            0
        }
    };
    Ok(())
}

/// LZ4 legacy frames: the magic, then blocks of (u32 LE compressed size, data), each
/// decompressing to at most 8 MiB. The stream ends at the end of input, at a repeated
/// magic (concatenated streams) or at a size that cannot be a block (the kernel build
/// appends the uncompressed size after the stream).
fn lz4_legacy(data: &[u8], out: &mut Vec<u8>) -> std::io::Result<()> {
    const MAGIC: u32 = 0x184c_2102;
    const BLOCK: usize = 8 << 20;
    let bad = |m: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, m.to_string());
    let mut rest = data.get(4..).ok_or_else(|| bad("lz4: truncated"))?;
    let mut chunk = vec![0u8; BLOCK];
    while rest.len() >= 4 {
        let n = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]);
        if n == MAGIC {
            rest = &rest[4..];
            continue;
        }
        let n = n as usize;
        if n == 0 || n > rest.len() - 4 {
            break;
        }
        let got = lz4_flex::block::decompress_into(&rest[4..4 + n], &mut chunk)
            .map_err(|e| bad(&format!("lz4: {e}")))?;
        out.extend_from_slice(&chunk[..got]);
        rest = &rest[4 + n..];
    }
    if out.is_empty() {
        return Err(bad("lz4: no data"));
    }
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
        for (c, data) in [
            (Compression::Gzip, gz),
            (Compression::Xz, xz),
            (Compression::Zstd, zs),
        ] {
            assert_eq!(Compression::detect(&data), Some(c));
            let mut out = Vec::new();
            decompress(c, &data, &mut out).unwrap();
            assert_eq!(out, body);
        }
        assert_eq!(Compression::detect(b"\x7fELF"), None);
        let mut out = Vec::new();
        assert!(decompress(
            Compression::Xz,
            &[0xfd, b'7', b'z', b'X', b'Z', 0, 1],
            &mut out
        )
        .is_err());
    }
}
