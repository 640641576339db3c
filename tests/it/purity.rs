//! The pure parts stay pure: deciding what to send (the plan, the lifecycle), building
//! issues, reading alerts and Jira's answers import no I/O crate and read no clock, so
//! every decision is a function of its inputs (see the README's "one crate" decision).

use std::path::Path;

/// Files (or folders) whose code, tests aside, must not do I/O.
const PURE: [&str; 12] = [
    "src/alert",
    "src/issue",
    "src/deliver/plan.rs",
    "src/deliver/plan",
    "src/deliver/lifecycle.rs",
    "src/deliver/step.rs",
    "src/deliver/outcome.rs",
    "src/jira/query.rs",
    "src/jira/model.rs",
    "src/jira/error.rs",
    "src/failure.rs",
    "src/hosts.rs",
];

/// What would mean I/O or a hidden input.
const FORBIDDEN: [&str; 12] = [
    "tokio",
    "reqwest",
    "aws_sdk",
    "aws_config",
    "aws_smithy",
    "lambda_runtime",
    "SystemTime::now",
    "Instant::now",
    "std::fs",
    "std::env",
    "TcpStream",
    "fastrand",
];

fn rust_files(path: &Path, out: &mut Vec<std::path::PathBuf>) {
    if path.is_dir() {
        for entry in std::fs::read_dir(path).unwrap() {
            rust_files(&entry.unwrap().path(), out);
        }
    } else if path.extension().is_some_and(|e| e == "rs") {
        out.push(path.to_path_buf());
    }
}

#[test]
fn the_pure_modules_do_no_io_and_read_no_clock() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for p in PURE {
        rust_files(&root.join(p), &mut files);
    }
    assert!(files.len() > 20, "{files:?}");
    let mut found = Vec::new();
    for file in files {
        let path = file.display().to_string();
        if path.contains("/tests/") || path.ends_with("/tests.rs") {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        // Unit tests at the end of a file may use what they like.
        let code = text.split("#[cfg(test)]").next().unwrap_or("");
        for word in FORBIDDEN {
            if code.contains(word) {
                found.push(format!("{path}: {word}"));
            }
        }
    }
    assert!(found.is_empty(), "I/O in pure code: {found:#?}");
}
