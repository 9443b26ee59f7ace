//! The local-first spine against a real `guichet serve`, through a fault-injecting proxy.
mod proxy;
mod proxy_selftest;
