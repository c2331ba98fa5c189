//! The library's error type for everything outside the kernel model.
//!
//! Inside the model a failure is what the kernel would return, an [`Errno`]. Around it —
//! reading corpora and manifests, parsing scripts and specs, writing reports, talking to
//! the live kernel — a failure needs context a user can act on: which file, which line,
//! what went wrong underneath. One enum carries that, so callers match on the kind of
//! failure instead of parsing message strings, and `source()` keeps the underlying error.

use crate::errno::Errno;
use std::fmt;
use std::path::PathBuf;

/// A failure outside the kernel model, with its context.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// A file or directory could not be read, written or created.
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A corpus manifest row is malformed (1-based line number).
    Manifest { line: usize, message: String },
    /// A keyring script line is malformed or could not be carried out (1-based line).
    Script {
        path: PathBuf,
        line: usize,
        message: String,
    },
    /// A corpus spec is malformed or inconsistent.
    Spec { path: PathBuf, message: String },
    /// A certificate, key or other input file is not what it should be.
    Input { path: PathBuf, message: String },
    /// The live kernel refused an operation.
    Kernel { op: &'static str, errno: Errno },
    /// A report could not be encoded or decoded.
    Report { message: String },
    /// The request itself cannot be carried out (conflicting options, empty corpus, a
    /// feature this build lacks).
    Usage(String),
}

/// Result with the library error.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// An I/O failure on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// A usage error.
    pub fn usage(message: impl Into<String>) -> Error {
        Error::Usage(message.into())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io { path, source } => write!(f, "{}: {source}", path.display()),
            Error::Manifest { line, message } => write!(f, "manifest line {line}: {message}"),
            Error::Script {
                path,
                line,
                message,
            } => write!(f, "{}:{line}: {message}", path.display()),
            Error::Spec { path, message } => write!(f, "{}: {message}", path.display()),
            Error::Input { path, message } => write!(f, "{}: {message}", path.display()),
            Error::Kernel { op, errno } => write!(f, "kernel {op}: {errno}"),
            Error::Report { message } => write!(f, "report: {message}"),
            Error::Usage(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            Error::Kernel { errno, .. } => Some(errno),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_is_in_the_message_and_the_source_is_kept() {
        let e = Error::io(
            "/x/y.sig",
            std::io::Error::from(std::io::ErrorKind::PermissionDenied),
        );
        assert!(e.to_string().starts_with("/x/y.sig: "));
        assert!(std::error::Error::source(&e).is_some());
        let m = Error::Manifest {
            line: 7,
            message: "bad errno 'EFOO'".into(),
        };
        assert_eq!(m.to_string(), "manifest line 7: bad errno 'EFOO'");
        assert!(std::error::Error::source(&m).is_none());
    }
}
