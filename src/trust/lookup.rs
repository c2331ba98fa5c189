//! `lookup_user_key` (security/keys/process_keys.c): how a keyctl argument becomes a key
//! the operation may use, and in which order its refusals come.
//!
//! Every keyctl operation names its keys by serial and asks for one permission on each
//! (`KEY_NEED_*`). For a serial that exists (a dead one is `ENOKEY`), the kernel:
//!
//! 1. decides **possession**: the key is possessed when the caller's session (thread,
//!    process) keyrings reach it through keyrings it may search — then the key's
//!    *possessor* permissions apply, else only the *user* ones (the caller owns every key
//!    here, so the group and other bits never matter);
//! 2. checks the key's **state** (`key_validate`): invalidated → `ENOKEY`, revoked →
//!    `EKEYREVOKED` — except for `unlink`, which does not use the key and skips this;
//! 3. checks the **permission** (`key_task_permission`): `EACCES` when the applicable bits
//!    lack it — again except for `unlink`, which needs none on the key.
//!
//! The type of the key (a keyring where one is needed) is checked only after that, by the
//! operation itself (`ENOTDIR`), so an asymmetric key named as the destination of a link
//! is `EACCES` (possessed asymmetric keys have no write permission), not `ENOTDIR`.
//!
//! Default permissions are those `key_create_or_update` gives when userspace does not set
//! any (`keyctl setperm` is not modelled): the possessor may view, search, link and set
//! attributes, and also read and write a keyring; the owning user may only view. So a key
//! the session no longer reaches — held only by another keyring's restriction, or left
//! without any link — answers `revoke`, `link`, `invalidate` and every write with
//! `EACCES`, as the live kernel does.

use crate::errno::{Errno, KResult};

/// A key's lifecycle state, as `key_validate` sees it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum KeyState {
    /// Usable.
    #[default]
    Live,
    /// `keyctl revoke`: linked still (a keyring is emptied), but unusable; searches skip it
    /// and report `EKEYREVOKED` when nothing else matched.
    Revoked,
    /// `keyctl invalidate`: unusable at once and removed from every keyring.
    Invalidated,
}

impl KeyState {
    /// `key_validate`: invalidated keys are `ENOKEY`, revoked ones `EKEYREVOKED`.
    pub fn validate(self) -> KResult<()> {
        match self {
            KeyState::Live => Ok(()),
            KeyState::Revoked => Err(Errno::EKEYREVOKED),
            KeyState::Invalidated => Err(Errno::ENOKEY),
        }
    }
}

/// The permission an operation needs on one of its keys (`enum key_need_perm`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    /// `KEY_NEED_WRITE`: add to, link into, unlink from or clear a keyring; revoke.
    Write,
    /// `KEY_NEED_SEARCH`: invalidate.
    Search,
    /// `KEY_NEED_LINK`: the key being linked.
    Link,
    /// `KEY_NEED_SETATTR`: restrict a keyring; revoke when write is refused.
    SetAttr,
    /// `KEY_NEED_UNLINK`: the key being unlinked — no state or permission check.
    Unlink,
}

/// Permission bits (`KEY_*_VIEW` … `KEY_*_SETATTR`, one byte per class).
const VIEW: u8 = 0x01;
const READ: u8 = 0x02;
const WRITE: u8 = 0x04;
const SEARCH: u8 = 0x08;
const LINK: u8 = 0x10;
const SETATTR: u8 = 0x20;

/// The default permissions of a key made by `add_key`: (possessor, user). Keyrings can be
/// read and written; asymmetric keys have neither a `read` nor an `update` operation.
fn default_perm(keyring: bool) -> (u8, u8) {
    let pos = VIEW | SEARCH | LINK | SETATTR;
    let pos = if keyring { pos | READ | WRITE } else { pos };
    (pos, VIEW)
}

/// What `lookup_user_key` needs to know about an existing key.
#[derive(Clone, Copy, Debug)]
pub struct Subject {
    /// Its state.
    pub state: KeyState,
    /// Whether the caller's session reaches it.
    pub possessed: bool,
    /// Whether it is a keyring (its permissions differ).
    pub keyring: bool,
}

/// Steps 2 and 3 of `lookup_user_key` for an existing key: the state, then the permission.
pub fn lookup_user_key(s: Subject, need: Need) -> KResult<()> {
    let bit = match need {
        Need::Unlink => return Ok(()),
        Need::Write => WRITE,
        Need::Search => SEARCH,
        Need::Link => LINK,
        Need::SetAttr => SETATTR,
    };
    s.state.validate()?;
    let (pos, usr) = default_perm(s.keyring);
    let have = if s.possessed { pos | usr } else { usr };
    if have & bit == 0 {
        return Err(Errno::EACCES);
    }
    Ok(())
}

/// `keyctl_revoke_key`: write permission, or failing that (`EACCES` only) set-attribute
/// permission — which is how a possessor revokes an asymmetric key it cannot write.
pub fn lookup_for_revoke(s: Subject) -> KResult<()> {
    match lookup_user_key(s, Need::Write) {
        Err(Errno::EACCES) => lookup_user_key(s, Need::SetAttr),
        r => r,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subject(state: KeyState, possessed: bool, keyring: bool) -> Subject {
        Subject {
            state,
            possessed,
            keyring,
        }
    }

    #[test]
    fn state_before_permission() {
        // A revoked key the session no longer reaches: EKEYREVOKED, not EACCES.
        let s = subject(KeyState::Revoked, false, false);
        assert_eq!(lookup_user_key(s, Need::Link), Err(Errno::EKEYREVOKED));
        assert_eq!(lookup_for_revoke(s), Err(Errno::EKEYREVOKED));
        let s = subject(KeyState::Invalidated, true, false);
        assert_eq!(lookup_user_key(s, Need::Search), Err(Errno::ENOKEY));
        // unlink looks at neither.
        assert_eq!(lookup_user_key(s, Need::Unlink), Ok(()));
    }

    #[test]
    fn possession_decides_permission() {
        let held = subject(KeyState::Live, false, false);
        for need in [Need::Write, Need::Search, Need::Link, Need::SetAttr] {
            assert_eq!(lookup_user_key(held, need), Err(Errno::EACCES), "{need:?}");
        }
        assert_eq!(lookup_for_revoke(held), Err(Errno::EACCES));
        let mine = subject(KeyState::Live, true, false);
        // Asymmetric keys cannot be written, even by their possessor ...
        assert_eq!(lookup_user_key(mine, Need::Write), Err(Errno::EACCES));
        // ... but revoke falls back to set-attribute.
        assert_eq!(lookup_for_revoke(mine), Ok(()));
        assert_eq!(lookup_user_key(mine, Need::Link), Ok(()));
        let ring = subject(KeyState::Live, true, true);
        assert_eq!(lookup_user_key(ring, Need::Write), Ok(()));
    }
}
