//! Integration tests: har.
