//! Built-in certificates from a kernel image.
//!
//! A distribution ships its module-signing certificate only inside the kernel's compiled-in
//! key list (`system_certificate_list`). This finds the payload of an x86 bzImage (setup
//! header `HdrS`, `payload_offset`/`payload_length`), decompresses it (gzip, xz or zstd)
//! and scans the image for DER certificates in the `30 82 LL LL` form the kernel's list
//! uses, keeping those that parse as the kernel would parse them.

use super::decompress::{decompress, Compression};
use std::fmt;

/// Why a kernel image yielded no kernel.
#[derive(Debug)]
#[non_exhaustive]
pub enum KernelImageError {
    /// The bzImage setup header ends before its payload fields.
    TruncatedSetupHeader,
    /// `payload_offset`/`payload_length` point outside the file.
    PayloadOutsideImage,
    /// The payload's magic is none of gzip, xz, zstd, LZ4 (its first bytes).
    UnsupportedCompression([u8; 6], usize),
    /// The payload did not decompress.
    Decompress(std::io::Error),
}

impl fmt::Display for KernelImageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KernelImageError::TruncatedSetupHeader => f.write_str("truncated setup header"),
            KernelImageError::PayloadOutsideImage => f.write_str("payload outside the image"),
            KernelImageError::UnsupportedCompression(m, n) => write!(
                f,
                "unsupported kernel compression (magic {:02x?}); gzip, xz, zstd and lz4 are supported",
                &m[..*n]
            ),
            KernelImageError::Decompress(e) => write!(f, "decompressing the kernel: {e}"),
        }
    }
}

impl std::error::Error for KernelImageError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            KernelImageError::Decompress(e) => Some(e),
            _ => None,
        }
    }
}

/// The decompressed kernel, or the input itself if it is not a compressed bzImage.
pub fn kernel_payload(image: &[u8]) -> Result<Vec<u8>, KernelImageError> {
    let u32_at = |o: usize| -> Option<u32> {
        Some(u32::from_le_bytes(image.get(o..o + 4)?.try_into().ok()?))
    };
    if image.get(0x202..0x206) == Some(b"HdrS") {
        let setup_sects = match image.get(0x1f1).copied().unwrap_or(0) {
            0 => 4,
            n => n as usize,
        };
        let pm_start = (setup_sects + 1) * 512;
        let off = u32_at(0x248).ok_or(KernelImageError::TruncatedSetupHeader)? as usize;
        let len = u32_at(0x24c).ok_or(KernelImageError::TruncatedSetupHeader)? as usize;
        let start = pm_start.saturating_add(off);
        let payload = image
            .get(start..start.saturating_add(len))
            .ok_or(KernelImageError::PayloadOutsideImage)?;
        let c = Compression::detect(payload).ok_or_else(|| {
            let mut magic = [0u8; 6];
            let n = payload.len().min(6);
            magic[..n].copy_from_slice(&payload[..n]);
            KernelImageError::UnsupportedCompression(magic, n)
        })?;
        let mut out = Vec::new();
        decompress(c, payload, &mut out).map_err(KernelImageError::Decompress)?;
        return Ok(out);
    }
    if let Some(c) = Compression::detect(image) {
        let mut out = Vec::new();
        decompress(c, image, &mut out).map_err(KernelImageError::Decompress)?;
        return Ok(out);
    }
    Ok(image.to_vec())
}

/// Every distinct certificate-shaped DER blob in `data` that `accept` takes (the caller
/// passes the kernel's X.509 parser: this module only knows bytes).
pub fn scan_certificates(data: &[u8], accept: &dyn Fn(&[u8]) -> bool) -> Vec<Vec<u8>> {
    let mut found: Vec<Vec<u8>> = Vec::new();
    let mut i = 0;
    while i + 8 <= data.len() {
        if data[i] == 0x30 && data[i + 1] == 0x82 && data[i + 4] == 0x30 && data[i + 5] == 0x82 {
            let len = 4 + ((data[i + 2] as usize) << 8 | data[i + 3] as usize);
            if let Some(der) = data.get(i..i + len) {
                if accept(der) {
                    if !found.iter().any(|f| f == der) {
                        found.push(der.to_vec());
                    }
                    i += len;
                    continue;
                }
            }
        }
        i += 1;
    }
    found
}
