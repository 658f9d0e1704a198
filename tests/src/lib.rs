//! End-to-end journey tests across the WikiScriptSync crates live in `tests/tests/`.
