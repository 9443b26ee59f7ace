//! The application layer under both front ends (the command line and the
//! console): opening a profile's workspace, building and validating the
//! agent's actions, submitting them and saying what became of them, and the
//! view models of lists and cases. Front ends only parse input and show
//! results; nothing here knows whether a terminal screen or a shell prints.

pub mod compose;
pub mod error;
pub mod inbox;
pub mod intake;
pub mod submit;
pub mod unlock;
pub mod view;
pub mod workspace;

pub use error::AppError;
pub use submit::Submitted;
pub use workspace::{Remote, Workspace};
