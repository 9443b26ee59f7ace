//! Pure types and rules of the caseworker's world, shared by every part of
//! Guichet and depending on none of them.

pub mod action;
pub mod case;
pub mod clock;
pub mod datetime;
pub mod directory;
pub mod search;
pub mod text;
pub mod timestamp;

pub use action::{Action, CaseField, NewCase, is_provisional};
pub use case::{Case, Choice, ChoiceList, Citizen, EntryKind, Group, Stage, TimelineEntry, User};
pub use clock::Clock;
pub use timestamp::{Timestamp, TimestampError};
