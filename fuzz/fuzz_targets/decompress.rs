#![no_main]
//! `formats::decompress` on every format (gzip, xz, zstd, LZ4 legacy) for every input:
//! never a panic, never more than `MAX_DECOMPRESSED` bytes out, a budget error only past
//! the budget, the same answer from a reused `Decompressor` as from a fresh one, and every
//! success equal to a reference decoder's output where the dependency tree has one:
//!
//! - gzip: flate2's own `GzDecoder` (its header parser and CRC/length check; the inflater
//!   underneath, miniz_oxide, is the same as ours);
//! - xz: liblzma's raw stream decoder driven in one `process` call with `Finish` (ours is
//!   liblzma's `bufread::XzDecoder`: the same C library through a different API, so this
//!   checks our single-stream, bounded read rather than liblzma itself);
//! - zstd: libzstd's one-shot `ZSTD_decompressDCtx` (`zstd::bulk`) on the first frame
//!   (`ZSTD_findFrameCompressedSize`) with exactly our output size as its capacity, so
//!   more output than ours is an error too (ours is the streaming decoder);
//! - LZ4 legacy: no second LZ4 implementation is in the tree (ours parses the legacy
//!   framing and calls lz4_flex's block decoder), so only the budget and no-panic hold.
use std::io::Read;

use libfuzzer_sys::fuzz_target;
use trustbench::formats::decompress::{is_too_large, Compression, Decompressor, MAX_DECOMPRESSED};

const FORMATS: [Compression; 4] = [
    Compression::Gzip,
    Compression::Xz,
    Compression::Zstd,
    Compression::Lz4Legacy,
];

fn gzip_reference(data: &[u8], limit: usize) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    flate2::bufread::GzDecoder::new(data)
        .take(limit as u64 + 1)
        .read_to_end(&mut out)
        .ok()?;
    Some(out)
}

fn xz_reference(data: &[u8], limit: usize) -> Option<Vec<u8>> {
    let mut s = liblzma::stream::Stream::new_stream_decoder(u64::MAX, 0).ok()?;
    let mut out = Vec::with_capacity(limit + 1);
    match s.process_vec(data, &mut out, liblzma::stream::Action::Finish) {
        Ok(liblzma::stream::Status::StreamEnd) => Some(out),
        _ => None,
    }
}

fn zstd_reference(data: &[u8], limit: usize) -> Option<Vec<u8>> {
    let n = zstd::zstd_safe::find_frame_compressed_size(data).ok()?;
    zstd::bulk::decompress(&data[..n], limit).ok()
}

fn run(d: &mut Decompressor, c: Compression, data: &[u8]) -> Result<Vec<u8>, std::io::Error> {
    let mut out = Vec::new();
    d.decompress(c, data, &mut out).map(|()| out)
}

fuzz_target!(|data: &[u8]| {
    // One decoder for every format, as a worker keeps one across modules.
    let mut reused = Decompressor::default();
    for c in FORMATS {
        let got = run(&mut reused, c, data);
        let fresh = run(&mut Decompressor::default(), c, data);
        match (&got, &fresh) {
            (Ok(a), Ok(b)) => assert!(a == b, "{c:?}: a reused decoder differs from a fresh one"),
            (Err(a), Err(b)) => assert_eq!(a.kind(), b.kind(), "{c:?}: reused vs fresh"),
            _ => panic!(
                "{c:?}: reused {:?} vs fresh {:?}",
                got.as_ref().map(Vec::len),
                fresh.as_ref().map(Vec::len)
            ),
        }
        let out = match got {
            Ok(out) => out,
            Err(e) => {
                if is_too_large(&e) {
                    // The budget's error is only for what really exceeds it: a reference
                    // decoder must produce more than the budget (gzip, xz) where it
                    // decodes at all.
                    let r = match c {
                        Compression::Gzip => gzip_reference(data, MAX_DECOMPRESSED),
                        _ => None,
                    };
                    if let Some(r) = r {
                        assert!(
                            r.len() > MAX_DECOMPRESSED,
                            "{c:?}: budget error for {} bytes",
                            r.len()
                        );
                    }
                }
                continue;
            }
        };
        assert!(
            out.len() <= MAX_DECOMPRESSED,
            "{c:?}: {} bytes, over the budget",
            out.len()
        );
        let reference = match c {
            Compression::Gzip => Some(gzip_reference(data, out.len())),
            Compression::Xz => Some(xz_reference(data, out.len())),
            Compression::Zstd => Some(zstd_reference(data, out.len())),
            Compression::Lz4Legacy => None,
        };
        if let Some(r) = reference {
            let r = r.unwrap_or_else(|| {
                panic!(
                    "{c:?}: ours decoded {} bytes, the reference failed",
                    out.len()
                )
            });
            assert!(
                r == out,
                "{c:?}: ours {} bytes, the reference {} (or different bytes)",
                out.len(),
                r.len()
            );
        }
    }
});
