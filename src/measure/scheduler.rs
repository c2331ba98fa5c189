//! `--shard auto`: which shard of the corpus this process is, taken from the scheduler that
//! started it, so one manifest or job script fans a corpus out over a fleet without a
//! per-job argument.
//!
//! Three sources, each a set of environment variables (docs/fleet.md has a manifest, a
//! job script and a CI matrix for each):
//!
//! | source | variables | shard |
//! |---|---|---|
//! | explicit (CI matrices) | `TRUSTBENCH_SHARD=K/N` | K of N |
//! | Kubernetes Indexed Job | `JOB_COMPLETION_INDEX` (0-based, set by the Job controller), `TRUSTBENCH_SHARD_COUNT` (set by the manifest to `.spec.completions`: Kubernetes does not export the count) | index + 1 of count |
//! | Slurm job array | `SLURM_ARRAY_TASK_ID`, `SLURM_ARRAY_TASK_COUNT`, `SLURM_ARRAY_TASK_MIN`, and `SLURM_ARRAY_TASK_STEP` or `SLURM_ARRAY_TASK_MAX` when present | (id − min) ÷ step + 1 of count |
//!
//! Fail closed: a source whose variables are only partly set, values that do not fit
//! (an index past the count, a Slurm id off its range), two sources that name different
//! shards, or no source at all, are usage errors naming the variables looked at — a job
//! that silently verified the whole corpus, or the wrong part, would make `merge` count
//! items twice or never.

use super::source::Shard;
use crate::error::{Error, Result};
use std::fmt;
use std::str::FromStr;

/// The explicit shard, `K/N`, for CI matrices and for overriding a scheduler.
pub const TRUSTBENCH_SHARD: &str = "TRUSTBENCH_SHARD";
/// A Kubernetes Indexed Job's completion index (0-based), set by the Job controller.
pub const JOB_COMPLETION_INDEX: &str = "JOB_COMPLETION_INDEX";
/// The shard count for a Kubernetes Indexed Job: the manifest sets it to the Job's
/// `.spec.completions`, which Kubernetes does not pass to the pod.
pub const TRUSTBENCH_SHARD_COUNT: &str = "TRUSTBENCH_SHARD_COUNT";
/// A Slurm array task's index (any non-negative integer, not necessarily from 0 or 1).
pub const SLURM_ARRAY_TASK_ID: &str = "SLURM_ARRAY_TASK_ID";
/// The number of tasks in the Slurm array.
pub const SLURM_ARRAY_TASK_COUNT: &str = "SLURM_ARRAY_TASK_COUNT";
/// The Slurm array's lowest task index.
pub const SLURM_ARRAY_TASK_MIN: &str = "SLURM_ARRAY_TASK_MIN";
/// The Slurm array's highest task index.
pub const SLURM_ARRAY_TASK_MAX: &str = "SLURM_ARRAY_TASK_MAX";
/// The Slurm array's index step (`--array=1-9:2`).
pub const SLURM_ARRAY_TASK_STEP: &str = "SLURM_ARRAY_TASK_STEP";

/// Every variable `--shard auto` looks at, in the order error messages name them.
pub const SHARD_VARIABLES: [&str; 8] = [
    TRUSTBENCH_SHARD,
    JOB_COMPLETION_INDEX,
    TRUSTBENCH_SHARD_COUNT,
    SLURM_ARRAY_TASK_ID,
    SLURM_ARRAY_TASK_COUNT,
    SLURM_ARRAY_TASK_MIN,
    SLURM_ARRAY_TASK_MAX,
    SLURM_ARRAY_TASK_STEP,
];

/// What `run --shard` was given: a shard, or `auto` (resolved from the environment when
/// the run starts, by [`ShardArg::resolve`]). A value type of its own so the command line
/// parses it with `FromStr` and the library, not the CLI, decides what `auto` means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShardArg {
    /// `K/N`.
    Fixed(Shard),
    /// `auto`: from the scheduler ([`Shard::from_scheduler`]).
    Auto,
}

impl ShardArg {
    /// The shard, reading this process's environment for `auto`.
    pub fn resolve(self) -> Result<Shard> {
        self.resolve_with(|name| std::env::var(name).ok())
    }

    /// The shard, with `env` answering for environment variables (tests pass a map).
    pub fn resolve_with(self, env: impl Fn(&str) -> Option<String>) -> Result<Shard> {
        match self {
            ShardArg::Fixed(s) => Ok(s),
            ShardArg::Auto => Shard::from_scheduler(env),
        }
    }
}

impl FromStr for ShardArg {
    type Err = Error;

    /// `K/N` or `auto`.
    fn from_str(s: &str) -> Result<ShardArg> {
        if s == "auto" {
            return Ok(ShardArg::Auto);
        }
        s.parse::<Shard>()
            .map(ShardArg::Fixed)
            .map_err(|e| Error::usage(format!("{e} (or `auto`: from the scheduler)")))
    }
}

impl fmt::Display for ShardArg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ShardArg::Fixed(s) => s.fmt(f),
            ShardArg::Auto => f.write_str("auto"),
        }
    }
}

/// A source of the shard, as found in the environment.
struct Found {
    /// How the source is named in messages, with the values it was read from.
    what: String,
    shard: Result<Shard>,
}

impl Shard {
    /// This process's shard from the scheduler that started it (the table in the module
    /// documentation), with `env` answering for environment variables. Every source present
    /// must be complete and agree with the others.
    pub fn from_scheduler(env: impl Fn(&str) -> Option<String>) -> Result<Shard> {
        // Empty values count as unset: a manifest that templates an empty string has not
        // set the variable.
        let get = |name: &str| env(name).filter(|v| !v.trim().is_empty());
        let mut found = Vec::new();
        if let Some(v) = get(TRUSTBENCH_SHARD) {
            found.push(Found {
                what: format!("{TRUSTBENCH_SHARD}={v}"),
                shard: v
                    .trim()
                    .parse::<Shard>()
                    .map_err(|e| Error::usage(format!("{TRUSTBENCH_SHARD}={v}: {e}"))),
            });
        }
        if let Some(f) = kubernetes(&get) {
            found.push(f);
        }
        if let Some(f) = slurm(&get) {
            found.push(f);
        }
        let Some(first) = found.first() else {
            return Err(Error::usage(format!(
                "--shard auto: no scheduler shard in the environment (looked at {}); \
                 set {TRUSTBENCH_SHARD}=K/N, or see docs/fleet.md for Kubernetes Indexed \
                 Jobs and Slurm job arrays",
                SHARD_VARIABLES.join(", ")
            )));
        };
        for f in &found {
            if let Err(e) = &f.shard {
                return Err(Error::usage(format!("--shard auto: {e}")));
            }
        }
        let shard = *first.shard.as_ref().expect("checked above");
        if let Some(other) = found
            .iter()
            .find(|f| f.shard.as_ref().is_ok_and(|s| *s != shard))
        {
            return Err(Error::usage(format!(
                "--shard auto: the environment names two different shards: {} gives {shard}, \
                 {} gives {}; unset one",
                first.what,
                other.what,
                other.shard.as_ref().expect("checked above"),
            )));
        }
        Ok(shard)
    }
}

/// A non-negative integer variable.
fn number(name: &str, value: &str) -> Result<u64> {
    value
        .trim()
        .parse::<u64>()
        .map_err(|_| Error::usage(format!("{name}={value}: not a non-negative integer")))
}

/// A count or index, as a shard number (at most `u32::MAX`).
fn shard_number(name: &str, value: u64) -> Result<u32> {
    u32::try_from(value).map_err(|_| Error::usage(format!("{name}={value}: too large")))
}

/// A Kubernetes Indexed Job: `JOB_COMPLETION_INDEX` and the manifest's count.
fn kubernetes(get: &impl Fn(&str) -> Option<String>) -> Option<Found> {
    let index = get(JOB_COMPLETION_INDEX);
    let count = get(TRUSTBENCH_SHARD_COUNT);
    if index.is_none() && count.is_none() {
        return None;
    }
    let what = format!(
        "Kubernetes ({JOB_COMPLETION_INDEX}={}, {TRUSTBENCH_SHARD_COUNT}={})",
        index.as_deref().unwrap_or("unset"),
        count.as_deref().unwrap_or("unset")
    );
    let shard = (|| {
        let (Some(index), Some(count)) = (index, count) else {
            return Err(Error::usage(format!(
                "{what}: an Indexed Job needs both: Kubernetes sets {JOB_COMPLETION_INDEX} \
                 but not the completion count, so the manifest must set \
                 {TRUSTBENCH_SHARD_COUNT} to the Job's .spec.completions"
            )));
        };
        let i = number(JOB_COMPLETION_INDEX, &index)?;
        let n = shard_number(
            TRUSTBENCH_SHARD_COUNT,
            number(TRUSTBENCH_SHARD_COUNT, &count)?,
        )?;
        if i >= u64::from(n) {
            return Err(Error::usage(format!(
                "{what}: the 0-based index must be below the count (is \
                 {TRUSTBENCH_SHARD_COUNT} the Job's .spec.completions?)"
            )));
        }
        Shard::new(shard_number(JOB_COMPLETION_INDEX, i + 1)?, n)
    })();
    Some(Found { what, shard })
}

/// A Slurm job array: the task's id, offset by the array's lowest id and divided by its
/// step, of the array's task count.
fn slurm(get: &impl Fn(&str) -> Option<String>) -> Option<Found> {
    let id = get(SLURM_ARRAY_TASK_ID);
    let count = get(SLURM_ARRAY_TASK_COUNT);
    let min = get(SLURM_ARRAY_TASK_MIN);
    if id.is_none() && count.is_none() && min.is_none() {
        return None;
    }
    let max = get(SLURM_ARRAY_TASK_MAX);
    let step = get(SLURM_ARRAY_TASK_STEP);
    let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "unset".into());
    let what = format!(
        "Slurm ({SLURM_ARRAY_TASK_ID}={}, {SLURM_ARRAY_TASK_COUNT}={}, {SLURM_ARRAY_TASK_MIN}={}, \
         {SLURM_ARRAY_TASK_MAX}={}, {SLURM_ARRAY_TASK_STEP}={})",
        show(&id),
        show(&count),
        show(&min),
        show(&max),
        show(&step)
    );
    let shard = (|| {
        let (Some(id), Some(count), Some(min)) = (id, count, min) else {
            return Err(Error::usage(format!(
                "{what}: a job array task needs {SLURM_ARRAY_TASK_ID}, \
                 {SLURM_ARRAY_TASK_COUNT} and {SLURM_ARRAY_TASK_MIN} (Slurm sets all three \
                 for `sbatch --array`)"
            )));
        };
        let id = number(SLURM_ARRAY_TASK_ID, &id)?;
        let n = number(SLURM_ARRAY_TASK_COUNT, &count)?;
        let min = number(SLURM_ARRAY_TASK_MIN, &min)?;
        let max = max.map(|m| number(SLURM_ARRAY_TASK_MAX, &m)).transpose()?;
        if n == 0 {
            return Err(Error::usage(format!("{what}: the array has no tasks")));
        }
        // The step: Slurm's own when it exports one, else what the range implies.
        let step = match (step, max) {
            (Some(s), _) => number(SLURM_ARRAY_TASK_STEP, &s)?,
            (None, Some(max)) if n > 1 => max.saturating_sub(min) / (n - 1),
            _ => 1,
        };
        let uneven = || {
            Error::usage(format!(
                "{what}: the task ids are not the evenly spaced range MIN, MIN+STEP, … of \
                 COUNT ids, so the task's place in the array is unknown; submit \
                 `--array=MIN-MAX[:STEP]`, or set {TRUSTBENCH_SHARD}=K/N per task"
            ))
        };
        if step == 0 || id < min {
            return Err(uneven());
        }
        if let Some(max) = max {
            if min + (n - 1) * step != max {
                return Err(uneven());
            }
        }
        let offset = id - min;
        if offset % step != 0 || offset / step >= n {
            return Err(uneven());
        }
        let count = shard_number(SLURM_ARRAY_TASK_COUNT, n)?;
        Shard::new(shard_number(SLURM_ARRAY_TASK_ID, offset / step + 1)?, count)
    })();
    Some(Found { what, shard })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| m.get(k).cloned()
    }

    fn auto(pairs: &[(&str, &str)]) -> Result<Shard> {
        ShardArg::Auto.resolve_with(env(pairs))
    }

    fn shard(k: u32, n: u32) -> Shard {
        Shard::new(k, n).unwrap()
    }

    /// A usage error whose message holds every one of `parts`.
    fn refused(pairs: &[(&str, &str)], parts: &[&str]) {
        let e = auto(pairs).unwrap_err();
        assert!(matches!(e, Error::Usage(_)), "{pairs:?}: {e:?}");
        for p in parts {
            assert!(e.to_string().contains(p), "{pairs:?}: '{e}' lacks '{p}'");
        }
    }

    #[test]
    fn syntax() {
        assert_eq!("auto".parse::<ShardArg>().unwrap(), ShardArg::Auto);
        assert_eq!(
            "2/8".parse::<ShardArg>().unwrap(),
            ShardArg::Fixed(shard(2, 8))
        );
        assert_eq!(ShardArg::Auto.to_string(), "auto");
        assert_eq!(ShardArg::Fixed(shard(3, 4)).to_string(), "3/4");
        let e = "Auto".parse::<ShardArg>().unwrap_err();
        assert!(e.to_string().contains("expected K/N"), "{e}");
        assert!(e.to_string().contains("auto"), "{e}");
        // A fixed shard never reads the environment.
        let fixed = ShardArg::Fixed(shard(1, 2));
        assert_eq!(
            fixed
                .resolve_with(env(&[(TRUSTBENCH_SHARD, "2/2")]))
                .unwrap(),
            shard(1, 2)
        );
    }

    #[test]
    fn explicit() {
        assert_eq!(auto(&[(TRUSTBENCH_SHARD, "3/5")]).unwrap(), shard(3, 5));
        assert_eq!(auto(&[(TRUSTBENCH_SHARD, " 1/1 ")]).unwrap(), shard(1, 1));
        refused(
            &[(TRUSTBENCH_SHARD, "0/5")],
            &["TRUSTBENCH_SHARD=0/5", "1 <= K <= N"],
        );
        refused(&[(TRUSTBENCH_SHARD, "6/5")], &["1 <= K <= N"]);
        refused(&[(TRUSTBENCH_SHARD, "3")], &["expected K/N"]);
    }

    #[test]
    fn kubernetes_indexed_job() {
        // Index 0..completions-1 → shards 1..completions.
        for i in 0..4u32 {
            let got = auto(&[
                (JOB_COMPLETION_INDEX, &i.to_string()),
                (TRUSTBENCH_SHARD_COUNT, "4"),
            ])
            .unwrap();
            assert_eq!(got, shard(i + 1, 4));
        }
        refused(
            &[(JOB_COMPLETION_INDEX, "2")],
            &["TRUSTBENCH_SHARD_COUNT", ".spec.completions", "unset"],
        );
        refused(
            &[(TRUSTBENCH_SHARD_COUNT, "4")],
            &["JOB_COMPLETION_INDEX=unset"],
        );
        refused(
            &[(JOB_COMPLETION_INDEX, "4"), (TRUSTBENCH_SHARD_COUNT, "4")],
            &["below the count"],
        );
        refused(
            &[(JOB_COMPLETION_INDEX, "-1"), (TRUSTBENCH_SHARD_COUNT, "4")],
            &["JOB_COMPLETION_INDEX=-1", "not a non-negative integer"],
        );
        refused(
            &[(JOB_COMPLETION_INDEX, "0"), (TRUSTBENCH_SHARD_COUNT, "0")],
            &["below the count"],
        );
    }

    #[test]
    fn slurm_job_array() {
        fn task(
            id: &str,
            count: &str,
            min: &str,
            max: Option<&str>,
            step: Option<&str>,
        ) -> Vec<(&'static str, String)> {
            let mut v = vec![
                (SLURM_ARRAY_TASK_ID, id.to_string()),
                (SLURM_ARRAY_TASK_COUNT, count.to_string()),
                (SLURM_ARRAY_TASK_MIN, min.to_string()),
            ];
            v.extend(max.map(|m| (SLURM_ARRAY_TASK_MAX, m.to_string())));
            v.extend(step.map(|s| (SLURM_ARRAY_TASK_STEP, s.to_string())));
            v
        }
        let auto = |v: &[(&'static str, String)]| {
            let pairs: Vec<(&str, &str)> = v.iter().map(|(k, x)| (*k, x.as_str())).collect();
            auto(&pairs)
        };
        let refused = |v: &[(&'static str, String)], parts: &[&str]| {
            let pairs: Vec<(&str, &str)> = v.iter().map(|(k, x)| (*k, x.as_str())).collect();
            refused(&pairs, parts)
        };
        // --array=0-3, --array=1-4 and --array=10-13: the same four shards.
        for min in [0u64, 1, 10] {
            for k in 0..4u64 {
                let id = (min + k).to_string();
                let max = (min + 3).to_string();
                let got = auto(&task(&id, "4", &min.to_string(), Some(&max), None)).unwrap();
                assert_eq!(
                    got,
                    shard(k as u32 + 1, 4),
                    "--array={min}-{max}, task {id}"
                );
                let got = auto(&task(&id, "4", &min.to_string(), None, None)).unwrap();
                assert_eq!(got, shard(k as u32 + 1, 4), "without MAX");
            }
        }
        // --array=1-7:2 → ids 1, 3, 5, 7: with Slurm's step, or the step the range implies.
        for (id, k) in [("1", 1), ("3", 2), ("5", 3), ("7", 4)] {
            assert_eq!(
                auto(&task(id, "4", "1", Some("7"), Some("2"))).unwrap(),
                shard(k, 4)
            );
            assert_eq!(
                auto(&task(id, "4", "1", Some("7"), None)).unwrap(),
                shard(k, 4)
            );
        }
        // One task.
        assert_eq!(
            auto(&task("5", "1", "5", Some("5"), None)).unwrap(),
            shard(1, 1)
        );
        // --array=1,2,9 (not evenly spaced): refused, not guessed.
        refused(
            &task("2", "3", "1", Some("9"), None),
            &["evenly spaced", "TRUSTBENCH_SHARD"],
        );
        // An id off the range, a count that does not fit it.
        refused(&task("0", "4", "1", Some("4"), None), &["evenly spaced"]);
        refused(&task("5", "4", "1", None, None), &["evenly spaced"]);
        refused(
            &task("2", "4", "1", Some("7"), Some("2")),
            &["evenly spaced"],
        );
        refused(
            &task("1", "4", "1", Some("9"), Some("2")),
            &["evenly spaced"],
        );
        refused(&task("1", "0", "1", None, None), &["no tasks"]);
        // Partly set.
        refused(
            &[(SLURM_ARRAY_TASK_ID, "3".to_string())],
            &["SLURM_ARRAY_TASK_COUNT=unset", "SLURM_ARRAY_TASK_MIN"],
        );
        refused(&task("x", "4", "1", None, None), &["SLURM_ARRAY_TASK_ID=x"]);
    }

    #[test]
    fn none_or_conflicting() {
        let e = auto(&[]).unwrap_err();
        assert!(matches!(e, Error::Usage(_)));
        for v in SHARD_VARIABLES {
            assert!(e.to_string().contains(v), "'{e}' does not name {v}");
        }
        // Empty values are unset.
        refused(
            &[(TRUSTBENCH_SHARD, ""), (JOB_COMPLETION_INDEX, " ")],
            &["no scheduler"],
        );
        // Two sources agreeing are fine; disagreeing, refused.
        let both = [
            (TRUSTBENCH_SHARD, "2/4"),
            (JOB_COMPLETION_INDEX, "1"),
            (TRUSTBENCH_SHARD_COUNT, "4"),
        ];
        assert_eq!(auto(&both).unwrap(), shard(2, 4));
        refused(
            &[
                (TRUSTBENCH_SHARD, "2/4"),
                (SLURM_ARRAY_TASK_ID, "3"),
                (SLURM_ARRAY_TASK_COUNT, "4"),
                (SLURM_ARRAY_TASK_MIN, "1"),
            ],
            &["two different shards", "TRUSTBENCH_SHARD=2/4", "gives 3/4"],
        );
        // A broken source is an error even when another is fine.
        refused(
            &[(TRUSTBENCH_SHARD, "2/4"), (JOB_COMPLETION_INDEX, "1")],
            &["TRUSTBENCH_SHARD_COUNT"],
        );
    }
}
