//! Guichet: a keyboard-driven, offline-first console for public-service
//! caseworkers, and the ServiceNow-compatible reference back-end it ships with.

pub mod backend;
pub mod cli;
pub mod config;
pub mod domain;
pub mod encoded_query;
pub mod secrets;
pub mod server;
pub mod store;
pub mod sync;
pub mod tls;
