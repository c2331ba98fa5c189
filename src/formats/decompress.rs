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
    /// How a compressed module is compressed: the formats kmod decompresses (gzip, xz,
    /// zstd), by magic. Anything else, LZ4 included, is an uncompressed module to kmod and
    /// the kernel, and so to us.
    pub fn detect_module(data: &[u8]) -> Option<Compression> {
        Self::detect(data).filter(|c| *c != Compression::Lz4Legacy)
    }

    /// Any format this module reads, by magic (kernel images also use LZ4 legacy frames).
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

/// The most bytes one input may decompress to: 256 MiB. The kernel sets no bound
/// (`module_decompress` grows its pages until memory runs out), so a few kilobytes of a
/// decompression bomb would otherwise cost a verifier gigabytes per worker thread. The
/// largest module of the Debian 6.12 tree decompresses to 29.3 MB (`corpora/sizes/`) and a
/// distribution kernel's payload to well under 100 MB, so this is several times any real
/// input. Exceeding it is an error of kind [`std::io::ErrorKind::FileTooLarge`] whose
/// message names the budget; the engine gives such a module a verdict saying so.
pub const MAX_DECOMPRESSED: usize = 256 << 20;

/// The error of an input that decompresses to more than [`MAX_DECOMPRESSED`] bytes.
fn too_large(format: &str) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::FileTooLarge,
        format!("{format}: decompresses to more than the {MAX_DECOMPRESSED}-byte budget"),
    )
}

/// Whether `e` is the [`MAX_DECOMPRESSED`] budget's error.
pub fn is_too_large(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::FileTooLarge
}

/// Reads `r` to its end into `out`, at most [`MAX_DECOMPRESSED`] bytes: one more is the
/// budget's error.
fn read_bounded(r: impl Read, out: &mut Vec<u8>, format: &str) -> std::io::Result<()> {
    r.take(MAX_DECOMPRESSED as u64 + 1).read_to_end(out)?;
    if out.len() > MAX_DECOMPRESSED {
        return Err(too_large(format));
    }
    Ok(())
}

/// Decompresses `data` into `out` (cleared first; capacity kept across calls) with a fresh
/// [`Decompressor`]; callers that decompress many modules keep one instead.
pub fn decompress(c: Compression, data: &[u8], out: &mut Vec<u8>) -> std::io::Result<()> {
    Decompressor::default().decompress(c, data, out)
}

/// Decoder state kept across modules (one per worker), so that decompressing a module
/// allocates nothing once `out` has grown: the deflate state is reset, not rebuilt, the
/// LZ4 block buffer is kept, and the xz and zstd decoders read the input slice directly
/// (no intermediate read buffer; their C libraries' own state aside).
pub struct Decompressor {
    inflate: flate2::Decompress,
    /// One LZ4 legacy block's output (8 MiB), made on the first LZ4 module and kept: it
    /// was allocated and zeroed for every module (found by the `decompress` fuzz target's
    /// profile: 67% of its time in memset and page faults).
    lz4_block: Vec<u8>,
}

impl Default for Decompressor {
    fn default() -> Self {
        Decompressor {
            inflate: flate2::Decompress::new(false),
            lz4_block: Vec::new(),
        }
    }
}

impl std::fmt::Debug for Decompressor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Decompressor")
    }
}

impl Decompressor {
    /// Decompresses `data` into `out` (cleared first; capacity kept). One member, stream or
    /// frame, ignoring what follows: kernel images append their uncompressed size after
    /// the compressed payload, and kmod writes single frames.
    pub fn decompress(
        &mut self,
        c: Compression,
        data: &[u8],
        out: &mut Vec<u8>,
    ) -> std::io::Result<()> {
        out.clear();
        match c {
            Compression::Gzip => self.gunzip(data, out)?,
            Compression::Xz => read_bounded(liblzma::bufread::XzDecoder::new(data), out, "xz")?,
            Compression::Zstd => read_bounded(
                zstd::stream::read::Decoder::with_buffer(data)?.single_frame(),
                out,
                "zstd",
            )?,
            Compression::Lz4Legacy => lz4_legacy(data, out, &mut self.lz4_block)?,
        }
        Ok(())
    }

    /// One gzip member (RFC 1952): header, raw deflate with the reused state, then the
    /// CRC-32 and length trailer, both checked (as zlib's gzip mode checks them).
    fn gunzip(&mut self, data: &[u8], out: &mut Vec<u8>) -> std::io::Result<()> {
        let body = gzip_body(data)?;
        self.inflate.reset(false);
        loop {
            if out.len() > MAX_DECOMPRESSED {
                return Err(too_large("gzip"));
            }
            if out.capacity() - out.len() < 32 * 1024 {
                out.reserve(out.len().max(64 * 1024));
            }
            let consumed = self.inflate.total_in() as usize;
            let input = body.get(consumed..).unwrap_or(&[]);
            let before = (consumed, out.len());
            let status = self
                .inflate
                .decompress_vec(input, out, flate2::FlushDecompress::None)
                .map_err(|e| invalid(&format!("gzip: {e}")))?;
            match status {
                flate2::Status::StreamEnd => break,
                _ if (self.inflate.total_in() as usize, out.len()) == before
                    && out.capacity() > out.len() =>
                {
                    return Err(invalid("gzip: truncated deflate stream"));
                }
                _ => {}
            }
        }
        if out.len() > MAX_DECOMPRESSED {
            return Err(too_large("gzip"));
        }
        let end = self.inflate.total_in() as usize;
        let trailer = body
            .get(end..end + 8)
            .ok_or_else(|| invalid("gzip: truncated trailer"))?;
        let crc = u32::from_le_bytes([trailer[0], trailer[1], trailer[2], trailer[3]]);
        let size = u32::from_le_bytes([trailer[4], trailer[5], trailer[6], trailer[7]]);
        let mut c = flate2::Crc::new();
        c.update(out);
        if c.sum() != crc || out.len() as u32 != size {
            return Err(invalid("gzip: CRC or length mismatch"));
        }
        Ok(())
    }
}

fn invalid(m: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, m.to_string())
}

/// The deflate data of a gzip member and what follows it: the 10-byte header and the
/// optional extra field, name, comment and header CRC skipped (and the header CRC checked).
fn gzip_body(data: &[u8]) -> std::io::Result<&[u8]> {
    const FHCRC: u8 = 0x02;
    const FEXTRA: u8 = 0x04;
    const FNAME: u8 = 0x08;
    const FCOMMENT: u8 = 0x10;
    const RESERVED: u8 = 0xe0;
    let bad = || invalid("gzip: bad header");
    let h = data.get(..10).ok_or_else(bad)?;
    if h[0] != 0x1f || h[1] != 0x8b || h[2] != 8 || h[3] & RESERVED != 0 {
        return Err(bad());
    }
    let flags = h[3];
    let mut at = 10usize;
    if flags & FEXTRA != 0 {
        let n = data.get(at..at + 2).ok_or_else(bad)?;
        at += 2 + u16::from_le_bytes([n[0], n[1]]) as usize;
    }
    for flag in [FNAME, FCOMMENT] {
        if flags & flag != 0 {
            let rest = data.get(at..).ok_or_else(bad)?;
            at += 1 + rest.iter().position(|&b| b == 0).ok_or_else(bad)?;
        }
    }
    if flags & FHCRC != 0 {
        let want = data.get(at..at + 2).ok_or_else(bad)?;
        let mut c = flate2::Crc::new();
        c.update(data.get(..at).ok_or_else(bad)?);
        if (c.sum() & 0xffff) as u16 != u16::from_le_bytes([want[0], want[1]]) {
            return Err(bad());
        }
        at += 2;
    }
    data.get(at..).ok_or_else(bad)
}

/// LZ4 legacy frames: the magic, then blocks of (u32 LE compressed size, data), each
/// decompressing to at most 8 MiB. The stream ends at the end of input, at a repeated
/// magic (concatenated streams) or at a size that cannot be a block (the kernel build
/// appends the uncompressed size after the stream). `chunk` is the caller's block buffer,
/// grown to 8 MiB once; what an earlier block left in it is never read (a block's matches
/// reach only into its own output, and only `..got` is copied out).
fn lz4_legacy(data: &[u8], out: &mut Vec<u8>, chunk: &mut Vec<u8>) -> std::io::Result<()> {
    const MAGIC: u32 = 0x184c_2102;
    const BLOCK: usize = 8 << 20;
    let bad = invalid;
    let mut rest = data.get(4..).ok_or_else(|| bad("lz4: truncated"))?;
    if chunk.len() < BLOCK {
        // `vec!` of zeros is one calloc (fresh zero pages, touched only as blocks fill
        // them), where `resize` would write all 8 MiB: a fresh decoder's first LZ4 module
        // pays only for the pages it uses.
        *chunk = vec![0u8; BLOCK];
    }
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
        let got = lz4_flex::block::decompress_into(&rest[4..4 + n], chunk)
            .map_err(|e| bad(&format!("lz4: {e}")))?;
        if out.len() + got > MAX_DECOMPRESSED {
            return Err(too_large("lz4"));
        }
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

    /// `body` as gzip, xz and zstd write it (the reference encoders).
    fn gzip_of(body: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(body).unwrap();
        e.finish().unwrap()
    }

    fn xz_of(body: &[u8]) -> Vec<u8> {
        let mut e = liblzma::write::XzEncoder::new(Vec::new(), 1);
        e.write_all(body).unwrap();
        e.finish().unwrap()
    }

    fn zstd_of(body: &[u8]) -> Vec<u8> {
        zstd::stream::encode_all(body, 1).unwrap()
    }

    /// A bomb of every format: a few hundred kilobytes that decompress past the budget are
    /// the budget's error, not gigabytes of memory; just under it still decompresses.
    #[test]
    fn decompression_is_bounded_by_the_budget() {
        let over = MAX_DECOMPRESSED + 4096;
        let zeros = vec![0u8; over];
        let (gz, xz, zs) = (gzip_of(&zeros), xz_of(&zeros), zstd_of(&zeros));
        // LZ4 legacy: 8 MiB blocks of zeros until past the budget.
        let block = lz4_flex::block::compress(&vec![0u8; 8 << 20]);
        let mut lz = 0x184c_2102u32.to_le_bytes().to_vec();
        for _ in 0..=(MAX_DECOMPRESSED >> 23) {
            lz.extend_from_slice(&(block.len() as u32).to_le_bytes());
            lz.extend_from_slice(&block);
        }
        let mut d = Decompressor::default();
        let mut out = Vec::new();
        for (c, data) in [
            (Compression::Gzip, &gz),
            (Compression::Xz, &xz),
            (Compression::Zstd, &zs),
            (Compression::Lz4Legacy, &lz),
        ] {
            assert!(data.len() < 2 << 20, "{c:?}: a small input");
            let e = d.decompress(c, data, &mut out).unwrap_err();
            assert!(is_too_large(&e), "{c:?}: {e}");
            assert!(out.len() <= MAX_DECOMPRESSED + (8 << 20), "{c:?}");
        }
        d.decompress(
            Compression::Xz,
            &xz_of(&zeros[..MAX_DECOMPRESSED]),
            &mut out,
        )
        .expect("exactly the budget decompresses");
        assert_eq!(out.len(), MAX_DECOMPRESSED);
    }

    /// LZ4 legacy streams (`lz4 -l`'s framing) through one kept decoder: a long stream of
    /// several blocks, then a short one, then the long one again; each decodes to exactly
    /// its own bytes, nothing of the block buffer's earlier contents, and the buffer is
    /// allocated once.
    #[test]
    fn a_kept_decoder_decodes_lz4_streams_one_after_another() {
        let stream = |blocks: &[&[u8]]| {
            let mut s = 0x184c_2102u32.to_le_bytes().to_vec();
            for b in blocks {
                let c = lz4_flex::block::compress(b);
                s.extend_from_slice(&(c.len() as u32).to_le_bytes());
                s.extend_from_slice(&c);
            }
            s
        };
        let a: Vec<u8> = (0..(9u32 << 20)).map(|i| (i * 7 % 251) as u8).collect();
        let (a1, a2) = a.split_at(8 << 20);
        let long = stream(&[a1, a2]);
        let short = stream(&[b"module body ~Module signature appended~\n"]);
        let mut d = Decompressor::default();
        let mut out = Vec::new();
        d.decompress(Compression::Lz4Legacy, &long, &mut out)
            .unwrap();
        assert_eq!(out, a);
        let buffer = d.lz4_block.as_ptr();
        d.decompress(Compression::Lz4Legacy, &short, &mut out)
            .unwrap();
        assert_eq!(out, b"module body ~Module signature appended~\n");
        d.decompress(Compression::Lz4Legacy, &long, &mut out)
            .unwrap();
        assert_eq!(out, a);
        assert_eq!(d.lz4_block.as_ptr(), buffer, "the block buffer is kept");
    }

    #[test]
    fn round_trips_every_format() {
        let body = b"module body ~Module signature appended~\n".repeat(50);
        let (gz, xz, zs) = (gzip_of(&body), xz_of(&body), zstd_of(&body));
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

    /// Our gzip member decoder (reused state) agrees with flate2's own `GzDecoder` on
    /// every header form and on every truncation and single-byte corruption of a member:
    /// the same success or failure, the same bytes.
    #[test]
    fn gzip_agrees_with_flate2_on_every_truncation_and_corruption() {
        let body = b"module body ~Module signature appended~\n".repeat(40);
        let plain = |b: flate2::GzBuilder| {
            let mut e = b.write(Vec::new(), flate2::Compression::fast());
            e.write_all(&body).unwrap();
            e.finish().unwrap()
        };
        let members = [
            plain(flate2::GzBuilder::new()),
            plain(
                flate2::GzBuilder::new()
                    .filename("m.ko")
                    .comment("c")
                    .extra(vec![1, 2, 3])
                    .operating_system(3),
            ),
        ];
        let reference = |data: &[u8]| {
            let mut out = Vec::new();
            flate2::bufread::GzDecoder::new(data)
                .read_to_end(&mut out)
                .ok()
                .map(|_| out)
        };
        let mut d = Decompressor::default();
        let mut ours = |data: &[u8]| {
            let mut out = Vec::new();
            d.decompress(Compression::Gzip, data, &mut out)
                .ok()
                .map(|()| out)
        };
        for m in &members {
            assert_eq!(ours(m).as_deref(), Some(&body[..]));
            // Bytes after the member are ignored, as kernel images need.
            let mut trailing = m.clone();
            trailing.extend_from_slice(&[0xaa; 9]);
            assert_eq!(ours(&trailing).as_deref(), Some(&body[..]));
            for n in 0..m.len() {
                assert_eq!(ours(&m[..n]), reference(&m[..n]), "truncated to {n}");
            }
            for i in 0..m.len() {
                let mut x = m.clone();
                x[i] ^= 0x5a;
                assert_eq!(ours(&x), reference(&x), "byte {i} corrupted");
            }
        }
    }
}
