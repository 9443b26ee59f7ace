//! The local-first spine against a real `guichet serve`, through a fault-injecting proxy.
mod agent;
mod bad_input;
#[path = "../support/client.rs"]
mod client;
mod clock;
mod conflicts;
mod console;
mod crash;
mod faults;
mod language;
mod network;
mod offline;
mod proxy;
mod proxy_selftest;
mod queue;
mod round_trip;
#[path = "../support/server.rs"]
mod server;
#[path = "../support/tmux.rs"]
mod tmux;
