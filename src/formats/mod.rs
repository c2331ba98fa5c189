//! Byte formats, parse only: zero-copy views over the input with the kernel's errnos.

pub mod decompress;
pub mod imasig;
pub mod kernel_image;
pub mod modsig;
pub mod pkcs7;
