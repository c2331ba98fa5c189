//! `trustbench compare`: the regression gate. Two run reports → [`compare::compare`] →
//! a Markdown table (printed, and `--markdown FILE`), `--json FILE` → exit code.

use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;
use trustbench::measure::compare::{self, Metric, DEFAULT_THRESHOLD_PCT};
use trustbench::measure::export;
use trustbench::Error;

#[derive(Args, Debug)]
pub struct CompareArgs {
    /// The baseline run report (e.g. results/baseline.json).
    pub base: PathBuf,
    /// The run report to judge (`trustbench run --json NEW.json`).
    pub new: PathBuf,
    /// Percent a figure must worsen by, outside both runs' 95% intervals, to count as a
    /// regression.
    #[arg(long, value_name = "PCT", default_value_t = DEFAULT_THRESHOLD_PCT)]
    pub threshold: f64,
    /// Figures to judge, per pass (repeat or comma-separate): efficiency,
    /// crypto_efficiency (ratios: comparable across machines), items_per_s, p50_ns,
    /// p99_ns (timings: only between runs on one testbed) [default: efficiency].
    #[arg(long, value_delimiter = ',', value_parser = parse_metric)]
    pub metric: Vec<Metric>,
    /// Also write the Markdown table here (for a pull-request comment).
    #[arg(long, value_name = "FILE")]
    pub markdown: Option<PathBuf>,
    /// Also write the comparison as JSON (schema trustbench.compare/1) here.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
}

fn parse_metric(s: &str) -> Result<Metric, String> {
    Metric::from_name(s).ok_or_else(|| {
        let all: Vec<&str> = Metric::ALL.iter().map(|m| m.name()).collect();
        format!("unknown metric '{s}' (one of: {})", all.join(", "))
    })
}

pub fn run(a: CompareArgs) -> Result<ExitCode, Error> {
    if !(a.threshold.is_finite() && a.threshold >= 0.0) {
        return Err(Error::usage(format!(
            "--threshold {}: need a percentage of 0 or more",
            a.threshold
        )));
    }
    let metrics = if a.metric.is_empty() {
        vec![Metric::Efficiency]
    } else {
        a.metric.clone()
    };
    let not_comparable = |e: compare::NotComparable| {
        eprintln!("trustbench compare: {e}");
        ExitCode::from(3)
    };
    let base = match compare::load(&a.base, "BASE")? {
        Ok(r) => r,
        Err(e) => return Ok(not_comparable(e)),
    };
    let new = match compare::load(&a.new, "NEW")? {
        Ok(r) => r,
        Err(e) => return Ok(not_comparable(e)),
    };
    let c = match compare::compare(&base, &new, &metrics, a.threshold) {
        Ok(c) => c,
        Err(e) => return Ok(not_comparable(e)),
    };
    let md = compare::markdown(&c);
    print!("{md}");
    if let Some(p) = &a.markdown {
        export::write_file(p, md.as_bytes())?;
    }
    if let Some(p) = &a.json {
        let text = serde_json::to_vec_pretty(&c).map_err(|e| Error::Report {
            message: e.to_string(),
        })?;
        export::write_file(p, &text)?;
    }
    Ok(if c.regressed() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
