//! The local-first spine against a real `guichet serve`, through a
//! fault-injecting proxy (the `support` crate, tests/support).
mod bad_input;
mod clock;
mod conflicts;
mod console;
mod crash;
mod crowd;
mod damaged;
mod demarches;
mod faults;
mod first_sync;
mod inbox;
mod instance;
mod intake;
mod language;
mod lock;
mod network;
mod offline;
mod privacy;
mod proxy;
mod queue;
mod round_trip;
mod sealed;
