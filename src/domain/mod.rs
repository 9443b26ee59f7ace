//! Pure types and rules of the caseworker's world, shared by every part of
//! Guichet and depending on none of them.

pub mod datetime;
