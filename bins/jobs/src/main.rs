//! Placeholder entry point; see the workspace README.

fn main() {}
