//! The reference back-end, tested as a client sees it: a real `guichet serve`
//! on 127.0.0.1:0 with a temporary database, spoken to over HTTP (through
//! the `support` crate, tests/support).

mod access;
mod accounts;
mod auth;
mod demarches;
mod durability;
mod extensions;
mod intake;
mod isolation;
mod limits;
mod listen;
mod protocol;
mod queries;
mod writes;
