//! Benchmarks only: see benches/build_issue.rs.
