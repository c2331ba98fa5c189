//! The raw `add_key`/`keyctl` syscalls the kernel crypto backend (`crypto::kernel`) needs,
//! each returning the kernel's errno as a typed [`Errno`]. Always built (the backend is a
//! feature): [`crate::kernel::keyctl`] builds the rest of the keyctl vocabulary on them, and
//! `crypto` sits below `kernel`, so the shared wrappers live here.

use crate::errno::{Errno, KResult};
use std::ffi::CStr;

/// `KEY_SPEC_PROCESS_KEYRING`.
pub const PROCESS_KEYRING: i32 = -2;
/// `KEYCTL_SETPERM`.
pub const KEYCTL_SETPERM: libc::c_long = 5;
/// `KEYCTL_UNLINK`.
pub const KEYCTL_UNLINK: libc::c_long = 9;
/// `KEYCTL_INVALIDATE`.
pub const KEYCTL_INVALIDATE: libc::c_long = 21;
/// `KEYCTL_PKEY_VERIFY`.
pub const KEYCTL_PKEY_VERIFY: libc::c_long = 28;
/// `KEY_POS_ALL`: every permission for a possessor.
pub const KEY_POS_ALL: u32 = 0x3f00_0000;
/// `KEY_USR_VIEW`.
pub const KEY_USR_VIEW: u32 = 0x0001_0000;
/// `KEY_USR_SEARCH`: lets a thread of the owner that does not possess the key use it by
/// serial.
pub const KEY_USR_SEARCH: u32 = 0x0008_0000;

/// A syscall's return value: the value, or the errno it set.
pub fn check(r: libc::c_long) -> KResult<i32> {
    if r < 0 {
        let e = std::io::Error::last_os_error().raw_os_error().unwrap_or(0);
        Err(Errno::from_code(e))
    } else {
        Ok(r as i32)
    }
}

/// `add_key(type, desc, payload, ring)`; an empty payload is passed as NULL.
pub fn add_key(key_type: &CStr, desc: &CStr, payload: &[u8], ring: i32) -> KResult<i32> {
    let (p, n) = if payload.is_empty() {
        (std::ptr::null(), 0)
    } else {
        (payload.as_ptr(), payload.len())
    };
    // SAFETY: the strings are NUL-terminated and, with the payload, live for the call;
    // the length is the payload's.
    check(unsafe {
        libc::syscall(
            libc::SYS_add_key,
            key_type.as_ptr(),
            desc.as_ptr(),
            p,
            n,
            ring,
        )
    })
}

/// A keyctl operation taking two integer arguments.
pub fn keyctl_int(op: libc::c_long, a: libc::c_long, b: libc::c_long) -> KResult<i32> {
    // SAFETY: integer-only keyctl operations take no pointers.
    check(unsafe { libc::syscall(libc::SYS_keyctl, op, a, b) })
}

/// `struct keyctl_pkey_params`.
#[repr(C)]
struct PkeyParams {
    key_id: i32,
    in_len: u32,
    in2_len: u32,
    spare: [u32; 7],
}

/// `keyctl pkey_verify KEY 0 DIGEST SIG INFO`. `EINVAL` for inputs longer than the
/// kernel's 32-bit lengths.
pub fn pkey_verify(key: i32, info: &CStr, digest: &[u8], sig: &[u8]) -> KResult<()> {
    let (Ok(in_len), Ok(in2_len)) = (u32::try_from(digest.len()), u32::try_from(sig.len())) else {
        return Err(Errno::EINVAL);
    };
    let params = PkeyParams {
        key_id: key,
        in_len,
        in2_len,
        spare: [0; 7],
    };
    // SAFETY: params, info, digest and sig outlive the call; their lengths are in params.
    check(unsafe {
        libc::syscall(
            libc::SYS_keyctl,
            KEYCTL_PKEY_VERIFY,
            &params as *const PkeyParams,
            info.as_ptr(),
            digest.as_ptr(),
            sig.as_ptr(),
        )
    })
    .map(|_| ())
}
