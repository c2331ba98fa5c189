//! Measurement as a library call: [`bench()`] runs a whole benchmark over a corpus (item
//! streaming and sharding, the link-time phase, the ceiling measured in the same run, the
//! passes, the manifest check, scaling and profiling) and returns a [`RunReport`];
//! [`export`] renders it, one file per format. [`backends::compare`] runs every crypto
//! backend on one corpus in one process and checks that they agree.

pub mod backends;
mod bench;
pub mod calibrate;
pub mod capacity;
pub mod compare;
pub mod export;
mod interleave;
pub mod link;
mod manifest;
mod observe;
pub mod plot;
pub mod pq;
mod profile;
pub mod report;
pub mod scheduler;
mod source;
pub mod stats;
pub mod sweep;
pub mod verdicts;

pub use bench::{bench, BenchConfig, DEFAULT_REPEAT};
pub use calibrate::MmapPolicy;
pub use observe::{NotValid, Observer, Phase};
pub use report::RunReport;
pub use scheduler::ShardArg;
pub use source::{is_generated, shard_of, Shard, CHUNK};
