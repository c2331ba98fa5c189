//! Measurement: the ceiling measured in the same run, the link-time phase, and run reports
//! with exporters.

pub mod calibrate;
pub mod link;
pub mod report;
