//! The live kernel's keyrings through the `add_key`/`keyctl` syscalls.
//!
//! Used by `keyring replay --kernel`. Every call returns the kernel's errno as a typed
//! [`Errno`], so the model's verdicts can be compared with the kernel's line by line. The
//! raw syscall wrappers are the kernel crypto backend's ([`crate::crypto::keyctl`]),
//! shared so that both speak to the kernel the same way.

use crate::crypto::keyctl::{self as sys, check};
use crate::errno::{Errno, KResult};
use std::ffi::{CStr, CString};

/// `KEY_SPEC_SESSION_KEYRING`.
pub const SESSION: i32 = -3;

const KEYCTL_JOIN_SESSION_KEYRING: libc::c_long = 1;
const KEYCTL_REVOKE: libc::c_long = 3;
const KEYCTL_CLEAR: libc::c_long = 7;
const KEYCTL_LINK: libc::c_long = 8;
const KEYCTL_UNLINK: libc::c_long = sys::KEYCTL_UNLINK;
const KEYCTL_SEARCH: libc::c_long = 10;
const KEYCTL_INVALIDATE: libc::c_long = sys::KEYCTL_INVALIDATE;
const KEYCTL_RESTRICT_KEYRING: libc::c_long = 29;

fn cstr(s: &str) -> KResult<CString> {
    CString::new(s).map_err(|_| Errno::EINVAL)
}

/// Joins a fresh anonymous session keyring (the calling process's keys stay private).
pub fn join_new_session() -> KResult<i32> {
    // SAFETY: KEYCTL_JOIN_SESSION_KEYRING with a NULL name takes no other pointer.
    check(unsafe {
        libc::syscall(
            libc::SYS_keyctl,
            KEYCTL_JOIN_SESSION_KEYRING,
            std::ptr::null::<libc::c_char>(),
        )
    })
}

/// `add_key(type, desc, payload, ring)`.
pub fn add_key(key_type: &str, desc: &str, payload: &[u8], ring: i32) -> KResult<i32> {
    sys::add_key(&cstr(key_type)?, &cstr(desc)?, payload, ring)
}

/// `keyctl newring NAME @s`.
pub fn new_keyring(name: &str, parent: i32) -> KResult<i32> {
    add_key("keyring", name, &[], parent)
}

fn keyctl2(op: libc::c_long, a: i32, b: i32) -> KResult<i32> {
    sys::keyctl_int(op, a.into(), b.into())
}

pub fn link(key: i32, ring: i32) -> KResult<()> {
    keyctl2(KEYCTL_LINK, key, ring).map(|_| ())
}

pub fn unlink(key: i32, ring: i32) -> KResult<()> {
    keyctl2(KEYCTL_UNLINK, key, ring).map(|_| ())
}

pub fn clear(ring: i32) -> KResult<()> {
    keyctl2(KEYCTL_CLEAR, ring, 0).map(|_| ())
}

pub fn revoke(key: i32) -> KResult<()> {
    keyctl2(KEYCTL_REVOKE, key, 0).map(|_| ())
}

/// `keyctl invalidate KEY`.
pub fn invalidate(key: i32) -> KResult<()> {
    keyctl2(KEYCTL_INVALIDATE, key, 0).map(|_| ())
}

/// `keyctl search RING TYPE DESCRIPTION [DEST]` (`KEYCTL_SEARCH`): the serial of the first
/// match in `ring` and the keyrings it nests; `dest` 0 links it nowhere. The strings are
/// taken ready-made so a caller timing the kernel's search (benches/restriction.rs) pays
/// no allocation per call.
pub fn search(ring: i32, key_type: &CStr, description: &CStr, dest: i32) -> KResult<i32> {
    // SAFETY: both strings are valid C strings for the call's duration.
    check(unsafe {
        libc::syscall(
            libc::SYS_keyctl,
            KEYCTL_SEARCH,
            ring,
            key_type.as_ptr(),
            description.as_ptr(),
            dest,
        )
    })
}

/// `keyctl restrict_keyring RING [TYPE [RESTRICTION]]`.
pub fn restrict(ring: i32, key_type: Option<&str>, restriction: Option<&str>) -> KResult<()> {
    let t = key_type.map(cstr).transpose()?;
    let r = restriction.map(cstr).transpose()?;
    let tp = t.as_ref().map_or(std::ptr::null(), |c| c.as_ptr());
    let rp = r.as_ref().map_or(std::ptr::null(), |c| c.as_ptr());
    // SAFETY: pointers are NULL or valid C strings for the call's duration.
    check(unsafe { libc::syscall(libc::SYS_keyctl, KEYCTL_RESTRICT_KEYRING, ring, tp, rp) })
        .map(|_| ())
}

/// `keyctl pkey_verify KEY 0 DIGEST SIG enc=ENC hash=HASH`.
pub fn pkey_verify(key: i32, info: &str, digest: &[u8], sig: &[u8]) -> KResult<()> {
    sys::pkey_verify(key, &cstr(info)?, digest, sig)
}

/// Whether this kernel lets us make a private session keyring (keyrings compiled in and
/// the syscall allowed).
pub fn available() -> bool {
    // A throwaway child process, so the caller's session is untouched.
    // SAFETY: fork/wait with no shared state; the child only calls async-signal-safe code.
    unsafe {
        let pid = libc::fork();
        if pid == 0 {
            let r = libc::syscall(
                libc::SYS_keyctl,
                KEYCTL_JOIN_SESSION_KEYRING,
                std::ptr::null::<libc::c_char>(),
            );
            libc::_exit(if r < 0 { 1 } else { 0 });
        }
        if pid < 0 {
            return false;
        }
        let mut status = 0;
        libc::waitpid(pid, &mut status, 0);
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0
    }
}
