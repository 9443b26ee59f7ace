//! Fuzz targets, with proptest: whatever the input, these parsers and
//! decoders (the encoded-query parser, the back-end's answer decoders, the
//! config and keymap loaders, the import of a rescue file) give a value or
//! an error, never a panic. Each target reads its
//! seeds from tests/fuzz/corpus/<target>/ (real examples, and every input
//! that once made one panic) and mixes their mutations with raw bytes and
//! structured-but-wrong input.
//!
//!   cargo test --test fuzz                          # CI: 3000 cases a target
//!                                                   # (1000 for rescue files), seconds each
//!   GUICHET_FUZZ_CASES=20000 cargo test --test fuzz
//!   GUICHET_FUZZ_SECS=600 cargo test --test fuzz -- --test-threads=1 --nocapture
//!                                                   # each target for 10 minutes
//!
//! Each target prints how many cases it ran (with --nocapture). A failure
//! shows the smallest input proptest shrank it to: fix the cause, and add
//! that input to the target's corpus folder as a regression case.

mod config;
mod encoded_query;
mod harness;
mod keymap;
mod rescue_file;
mod wire;
