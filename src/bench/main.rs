//! The `make bench` program: figures printed as ratios to floors measured in the same run.
fn main() {}
