//! keyctl-like scripts, replayed against the model and, side by side, the live kernel.
//!
//! A script is the user's keyring policy written as the commands an administrator would
//! type; replaying it shows which links each gatekeeper accepts and with what errno. With a
//! live kernel the same script runs inside a fresh session keyring, making it both a
//! policy checker and the project's differential test harness.

use crate::errno::{Errno, KResult};
use crate::error::Error;
use crate::kernel::keyctl as kernel;
use crate::trust::restrict::Restriction;
use crate::trust::store::{AddMode, Store};
use crate::trust::Serial;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// One script command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    NewRing(String),
    Restrict {
        ring: String,
        restriction: String,
    },
    RestrictReject {
        ring: String,
    },
    Add {
        key: String,
        ring: String,
        file: PathBuf,
    },
    Load {
        key: String,
        ring: String,
        file: PathBuf,
    },
    Link {
        what: String,
        ring: String,
    },
    Unlink {
        key: String,
        ring: String,
    },
    Clear(String),
    Revoke(String),
    /// `invalidate KEY`: `keyctl invalidate`.
    Invalidate(String),
    /// `blacklist tbs:HEX` / `blacklist bin:HEX`: a boot-time `.blacklist` entry.
    Blacklist(String),
}

/// A parsed line.
#[derive(Clone, Debug)]
pub struct Line {
    pub number: usize,
    pub text: String,
    pub command: Command,
}

/// The largest script replayed, in bytes.
///
/// Why this number: a script is read whole, so its size is memory. The kernel's own
/// ceiling on what a script can build is root's key quota (`/proc/sys/kernel/keys/
/// root_maxkeys`, 1,000,000 by default: one key more is `EDQUOT`); a script that adds
/// that many certificates, with a link or restriction line beside each, is about
/// [`MAX_SCRIPT_LINES`] lines of under 128 bytes. A larger file is a usage error naming
/// this budget (a script is a request, not an item, so it gets no verdict).
pub const MAX_SCRIPT_BYTES: u64 = 512 << 20;

/// The most lines a script may have: four per key of root's default key quota
/// (1,000,000 keys; see [`MAX_SCRIPT_BYTES`]). More is a usage error naming this budget.
pub const MAX_SCRIPT_LINES: usize = 4_000_000;

/// The largest certificate file an `add`/`load` line reads: `add_key(2)` refuses a
/// payload of more than 1 MiB − 1 with `EINVAL` before it allocates it, so a larger file
/// is that line's `EINVAL` outcome, in the model as in the kernel, and is never read
/// whole.
pub const MAX_PAYLOAD: u64 = (1 << 20) - 1;

/// Reads and parses a script file; the paths it names are resolved relative to its
/// directory, and errors name the script and the line. A script over
/// [`MAX_SCRIPT_BYTES`] or [`MAX_SCRIPT_LINES`] is refused unread.
pub fn read_script(script: &Path) -> Result<Vec<Line>, Error> {
    let size = std::fs::metadata(script)
        .map_err(|e| Error::io(script, e))?
        .len();
    if size > MAX_SCRIPT_BYTES {
        return Err(Error::Script {
            path: script.to_path_buf(),
            line: 0,
            message: format!(
                "{size} bytes: over the {MAX_SCRIPT_BYTES}-byte budget (replay::MAX_SCRIPT_BYTES)"
            ),
        });
    }
    let mut text = String::new();
    std::io::Read::read_to_string(
        &mut std::io::Read::take(
            std::fs::File::open(script).map_err(|e| Error::io(script, e))?,
            MAX_SCRIPT_BYTES + 1,
        ),
        &mut text,
    )
    .map_err(|e| Error::io(script, e))?;
    if text.len() as u64 > MAX_SCRIPT_BYTES {
        return Err(Error::Script {
            path: script.to_path_buf(),
            line: 0,
            message: format!("over the {MAX_SCRIPT_BYTES}-byte budget (replay::MAX_SCRIPT_BYTES)"),
        });
    }
    let base = script.parent().unwrap_or(Path::new("."));
    parse(&text, base).map_err(|e| match e {
        Error::Script { line, message, .. } => Error::Script {
            path: script.to_path_buf(),
            line,
            message,
        },
        other => other,
    })
}

/// Parses a script held in memory; paths are resolved relative to `base`, which also names
/// the script in errors (see [`read_script`] for files). Errors name the line.
pub fn parse(text: &str, base: &Path) -> Result<Vec<Line>, Error> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        if i >= MAX_SCRIPT_LINES {
            return Err(Error::Script {
                path: base.to_path_buf(),
                line: i + 1,
                message: format!(
                    "over the {MAX_SCRIPT_LINES}-line budget (replay::MAX_SCRIPT_LINES)"
                ),
            });
        }
        let line = raw.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let w: Vec<&str> = line.split_whitespace().collect();
        let n = i + 1;
        let bad = || Error::Script {
            path: base.to_path_buf(),
            line: n,
            message: format!("cannot parse '{line}'"),
        };
        let path = |p: &str| base.join(p);
        let command = match w.as_slice() {
            ["newring", name] => Command::NewRing(name.to_string()),
            ["restrict", ring, "reject"] => Command::RestrictReject {
                ring: ring.to_string(),
            },
            ["restrict", ring, r] => Command::Restrict {
                ring: ring.to_string(),
                restriction: r.to_string(),
            },
            ["add", key, ring, file] => Command::Add {
                key: key.to_string(),
                ring: ring.to_string(),
                file: path(file),
            },
            ["load", key, ring, file] => Command::Load {
                key: key.to_string(),
                ring: ring.to_string(),
                file: path(file),
            },
            ["link", what, ring] => Command::Link {
                what: what.to_string(),
                ring: ring.to_string(),
            },
            ["unlink", key, ring] => Command::Unlink {
                key: key.to_string(),
                ring: ring.to_string(),
            },
            ["clear", ring] => Command::Clear(ring.to_string()),
            ["revoke", key] => Command::Revoke(key.to_string()),
            ["invalidate", key] => Command::Invalidate(key.to_string()),
            ["blacklist", desc] => Command::Blacklist(desc.to_string()),
            _ => return Err(bad()),
        };
        out.push(Line {
            number: n,
            text: line.to_string(),
            command,
        });
    }
    Ok(out)
}

/// A line's outcome on one side.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    Err(Errno),
    /// Not run on this side (e.g. system keyrings are not writable in a live kernel).
    Skipped,
}

impl Outcome {
    fn from(r: KResult<()>) -> Outcome {
        match r {
            Ok(()) => Outcome::Ok,
            Err(e) => Outcome::Err(e),
        }
    }
}

/// Reads a file named by a script, at most [`MAX_PAYLOAD`] + 1 bytes (enough to know it
/// is too big). I/O failures are usage errors, not verdicts.
fn read(file: &Path) -> Result<Vec<u8>, Error> {
    let f = std::fs::File::open(file).map_err(|e| Error::io(file, e))?;
    let mut v = Vec::new();
    std::io::Read::read_to_end(&mut std::io::Read::take(f, MAX_PAYLOAD + 1), &mut v)
        .map_err(|e| Error::io(file, e))?;
    Ok(v)
}

/// `add_key(2)`'s payload limit ([`MAX_PAYLOAD`]): `EINVAL` for more.
fn payload_fits(der: &[u8]) -> KResult<()> {
    if der.len() as u64 > MAX_PAYLOAD {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

/// Replays against the model.
pub struct ModelRunner<'a> {
    pub store: &'a mut Store,
    names: HashMap<String, Serial>,
}

impl<'a> ModelRunner<'a> {
    pub fn new(store: &'a mut Store) -> Self {
        let mut names = HashMap::new();
        for s in store.serials().collect::<Vec<_>>() {
            if store.keyring(s).is_some() {
                names.insert(store.description(s).unwrap_or_default(), s);
            }
        }
        ModelRunner { store, names }
    }

    fn lookup(&self, name: &str) -> KResult<Serial> {
        self.names.get(name).copied().ok_or(Errno::ENOKEY)
    }

    /// The serial a script name refers to (`ENOKEY` if undefined).
    pub fn lookup_serial(&self, name: &str) -> KResult<Serial> {
        self.lookup(name)
    }

    /// `add` (or, with `bypass`, `load`) of certificate bytes already in memory.
    pub fn add_bytes(&mut self, key: &str, ring: &str, der: &[u8], bypass: bool) -> Outcome {
        let mode = if bypass {
            AddMode::Bypass
        } else {
            AddMode::User
        };
        // add_key(2) judges the payload's size before it looks the keyring up.
        match payload_fits(der)
            .and_then(|()| self.lookup(ring))
            .and_then(|r| self.store.add_cert(r, der, mode))
        {
            Ok(s) => {
                self.names.insert(key.to_string(), s);
                Outcome::Ok
            }
            Err(e) => Outcome::Err(e),
        }
    }

    /// Runs one line.
    pub fn run(&mut self, line: &Line) -> Result<Outcome, Error> {
        Ok(match &line.command {
            Command::NewRing(name) => {
                let s = self.store.new_keyring(name, true);
                self.names.insert(name.clone(), s);
                Outcome::Ok
            }
            Command::RestrictReject { ring } => Outcome::from(
                self.lookup(ring)
                    .and_then(|r| self.store.restrict(r, Restriction::RejectAll)),
            ),
            Command::Restrict { ring, restriction } => {
                let text = substitute_ref(restriction, |n| self.names.get(n).copied());
                // The kernel parses the restriction only after looking the keyring up.
                let parse = |store: &Store| {
                    let resolve = |serial: i32| -> KResult<Serial> {
                        store.object(serial).map(|_| serial).ok_or(Errno::ENOKEY)
                    };
                    Restriction::parse_asymmetric(&text, &resolve)
                };
                Outcome::from(
                    self.lookup(ring)
                        .and_then(|ring| self.store.restrict_with(ring, parse)),
                )
            }
            Command::Add { key, ring, file } | Command::Load { key, ring, file } => {
                let der = read(file)?;
                let bypass = matches!(line.command, Command::Load { .. });
                self.add_bytes(key, ring, &der, bypass)
            }
            Command::Link { what, ring } => Outcome::from(
                self.lookup(what)
                    .and_then(|k| self.lookup(ring).map(|r| (k, r)))
                    .and_then(|(k, r)| self.store.link(k, r)),
            ),
            Command::Unlink { key, ring } => Outcome::from(
                self.lookup(key)
                    .and_then(|k| self.lookup(ring).map(|r| (k, r)))
                    .and_then(|(k, r)| self.store.unlink(k, r)),
            ),
            Command::Clear(ring) => {
                Outcome::from(self.lookup(ring).and_then(|r| self.store.clear(r)))
            }
            Command::Revoke(key) => {
                Outcome::from(self.lookup(key).and_then(|k| self.store.revoke(k)))
            }
            Command::Invalidate(key) => {
                Outcome::from(self.lookup(key).and_then(|k| self.store.invalidate(k)))
            }
            Command::Blacklist(desc) => Outcome::from(
                crate::trust::blacklist::vet(desc)
                    .and_then(|(kind, h)| self.store.add_blacklist_hash(kind, &h).map(|_| ())),
            ),
        })
    }
}

/// Replaces a symbolic REF in `key_or_keyring:REF[:chain]` with a serial; unknown names
/// become a serial that cannot exist, so the lookup fails `ENOKEY` as for an unknown serial.
fn substitute_ref(restriction: &str, lookup: impl Fn(&str) -> Option<i32>) -> String {
    let mut parts: Vec<String> = restriction.split(':').map(str::to_string).collect();
    if parts.len() >= 2 && parts[0] == "key_or_keyring" {
        let r = &parts[1];
        let numeric = r.parse::<i64>().is_ok() || r.starts_with("0x") || r.starts_with('-');
        if !numeric {
            parts[1] = lookup(r).unwrap_or(i32::MAX).to_string();
        }
    }
    parts.join(":")
}

/// Replays against the live kernel inside a fresh session keyring (call only in a process
/// that may change its session keyring, e.g. the CLI).
pub struct KernelRunner {
    names: HashMap<String, i32>,
    restricted: HashMap<i32, bool>,
}

impl KernelRunner {
    /// Joins a new anonymous session keyring.
    pub fn new() -> KResult<KernelRunner> {
        kernel::join_new_session()?;
        Ok(KernelRunner {
            names: HashMap::new(),
            restricted: HashMap::new(),
        })
    }

    fn lookup(&self, name: &str) -> KResult<i32> {
        self.names.get(name).copied().ok_or(Errno::ENOKEY)
    }

    fn lookup_or_bogus(&self, name: &str) -> i32 {
        self.names.get(name).copied().unwrap_or(i32::MAX)
    }

    /// Runs one line; lines the kernel cannot reproduce from userspace are skipped.
    pub fn run(&mut self, line: &Line) -> Result<Outcome, Error> {
        let touches_system = |n: &str| n.starts_with('.');
        Ok(match &line.command {
            Command::NewRing(name) => match kernel::new_keyring(name, kernel::SESSION) {
                Ok(s) => {
                    self.names.insert(name.clone(), s);
                    Outcome::Ok
                }
                Err(e) => Outcome::Err(e),
            },
            Command::RestrictReject { ring } if !touches_system(ring) => {
                let r = self.lookup_or_bogus(ring);
                let res = kernel::restrict(r, None, None);
                if res.is_ok() {
                    self.restricted.insert(r, true);
                }
                Outcome::from(res)
            }
            Command::Restrict { ring, restriction } if !touches_system(ring) => {
                let ref_is_system = restriction.split(':').nth(1).is_some_and(touches_system);
                if ref_is_system {
                    return Ok(Outcome::Skipped);
                }
                let r = self.lookup_or_bogus(ring);
                let text = substitute_ref(restriction, |n| self.names.get(n).copied());
                let res = kernel::restrict(r, Some("asymmetric"), Some(&text));
                if res.is_ok() {
                    self.restricted.insert(r, true);
                }
                Outcome::from(res)
            }
            Command::Add { key, ring, file } if !touches_system(ring) => {
                self.add(key, ring, file)?
            }
            Command::Load { key, ring, file } if !touches_system(ring) => {
                let r = self.lookup_or_bogus(ring);
                if self.restricted.contains_key(&r) {
                    return Ok(Outcome::Skipped);
                }
                self.add(key, ring, file)?
            }
            Command::Link { what, ring } if !touches_system(what) && !touches_system(ring) => {
                Outcome::from(kernel::link(
                    self.lookup_or_bogus(what),
                    self.lookup_or_bogus(ring),
                ))
            }
            Command::Unlink { key, ring } if !touches_system(key) && !touches_system(ring) => {
                Outcome::from(kernel::unlink(
                    self.lookup_or_bogus(key),
                    self.lookup_or_bogus(ring),
                ))
            }
            Command::Clear(ring) if !touches_system(ring) => {
                Outcome::from(kernel::clear(self.lookup_or_bogus(ring)))
            }
            Command::Revoke(key) if !touches_system(key) => {
                Outcome::from(kernel::revoke(self.lookup_or_bogus(key)))
            }
            Command::Invalidate(key) if !touches_system(key) => {
                Outcome::from(kernel::invalidate(self.lookup_or_bogus(key)))
            }
            _ => Outcome::Skipped,
        })
    }

    fn add(&mut self, key: &str, ring: &str, file: &Path) -> Result<Outcome, Error> {
        let der = read(file)?;
        let r = self.lookup(ring).unwrap_or(i32::MAX);
        Ok(match kernel::add_key("asymmetric", "", &der, r) {
            Ok(s) => {
                self.names.insert(key.to_string(), s);
                Outcome::Ok
            }
            Err(e) => Outcome::Err(e),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_command() {
        let s = "# c\nnewring r\nrestrict r key_or_keyring:ca:chain\nrestrict r reject\n\
                 add k r k.der\nload a .builtin_trusted_keys a.der # boot\nlink k r\n\
                 unlink k r\nclear r\nrevoke k\nblacklist tbs:00\ninvalidate k\n";
        let lines = parse(s, Path::new("/d")).unwrap();
        assert_eq!(lines.len(), 11);
        assert_eq!(lines[10].command, Command::Invalidate("k".into()));
        assert_eq!(lines[0].number, 2);
        assert_eq!(
            lines[3].command,
            Command::Add {
                key: "k".into(),
                ring: "r".into(),
                file: PathBuf::from("/d/k.der")
            }
        );
        assert!(parse("frobnicate x", Path::new(".")).is_err());
    }

    #[test]
    fn refs_become_serials() {
        let f = |n: &str| (n == "ca").then_some(42);
        assert_eq!(
            substitute_ref("key_or_keyring:ca:chain", f),
            "key_or_keyring:42:chain"
        );
        assert_eq!(
            substitute_ref("key_or_keyring:0:chain", f),
            "key_or_keyring:0:chain"
        );
        assert_eq!(
            substitute_ref("key_or_keyring:nope", f),
            format!("key_or_keyring:{}", i32::MAX)
        );
        assert_eq!(substitute_ref("builtin_trusted", f), "builtin_trusted");
    }
}
