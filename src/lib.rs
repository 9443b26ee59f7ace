//! Guichet: a keyboard-driven, offline-first console for public-service
//! caseworkers, and the ServiceNow-compatible reference back-end it ships with.

#![forbid(unsafe_code)]

pub mod app;
pub mod backend;
pub mod cli;
pub mod config;
pub mod console;
pub mod domain;
pub mod encoded_query;
pub mod i18n;
pub mod logging;
pub mod private_files;
pub mod protocol;
pub mod secrets;
pub mod server;
pub mod store;
pub mod sync;
pub mod tls;
