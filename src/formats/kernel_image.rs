//! Built-in certificates from a kernel image.
//!
//! A distribution ships its module-signing certificate only inside the kernel's compiled-in
//! key list (`system_certificate_list`). This finds the payload of an x86 bzImage (setup
//! header `HdrS`, `payload_offset`/`payload_length`), decompresses it (gzip, xz or zstd)
//! and scans the image for DER certificates in the `30 82 LL LL` form the kernel's list
//! uses, keeping those that parse as the kernel would parse them.

use super::decompress::{decompress, Compression};

/// The decompressed kernel, or the input itself if it is not a compressed bzImage.
pub fn kernel_payload(image: &[u8]) -> Result<Vec<u8>, String> {
    let u32_at = |o: usize| -> Option<u32> {
        Some(u32::from_le_bytes(image.get(o..o + 4)?.try_into().ok()?))
    };
    if image.get(0x202..0x206) == Some(b"HdrS") {
        let setup_sects = match image.get(0x1f1).copied().unwrap_or(0) {
            0 => 4,
            n => n as usize,
        };
        let pm_start = (setup_sects + 1) * 512;
        let off = u32_at(0x248).ok_or("truncated setup header")? as usize;
        let len = u32_at(0x24c).ok_or("truncated setup header")? as usize;
        let start = pm_start + off;
        let payload = image
            .get(start..start + len)
            .ok_or("payload outside the image")?;
        let c = Compression::detect(payload).ok_or_else(|| {
            format!(
                "unsupported kernel compression (magic {:02x?}); gzip, xz, zstd and lz4 are supported",
                &payload[..payload.len().min(6)]
            )
        })?;
        let mut out = Vec::new();
        decompress(c, payload, &mut out).map_err(|e| format!("decompressing the kernel: {e}"))?;
        return Ok(out);
    }
    if let Some(c) = Compression::detect(image) {
        let mut out = Vec::new();
        decompress(c, image, &mut out).map_err(|e| format!("decompressing: {e}"))?;
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
