//! Runnable examples of the WikiScriptSync crates live in `examples/examples/`;
//! run one with `cargo run -p wikiscriptsync-examples --example <name>`.
