//! Publishing one file to one wiki page, safely: exactly the file at exactly the commit the user
//! saw, with the user's own BotPassword, never over an on-wiki edit they have not seen, and with
//! every attempt recorded.
//!
//! [`Publisher`] runs the publish steps in order ([`PublishStep`]): mutex → decrypt → fetch
//! and verify → log in and probe → drift guard → no change → edit → publish log and release.
//! Under the lock the steps before the edit are bounded by the lock's lifetime, the lock is
//! checked right before the edit, the attempt is written down ahead of the edit and settled
//! with its result, and a lost answer is resolved by looking at the page (`edit.rs`).
//! A success is a [`PublishReport`]; anything else is a [`PublishFailure`] naming the step and
//! a [`PublishError`] classed as refused, busy or other. A dry run (a preview) is a read: it
//! skips the mutex and the record, so it writes no row and is never busy.

mod edit;
mod error;
mod job;
mod pipeline;
mod publisher;
mod record;
mod report;
mod request;
mod standalone;
mod step;
pub mod text;
pub(crate) mod unrecorded;

pub use edit::content_sha1;
pub use error::{FailureClass, PublishError, PublishFailure};
pub use pipeline::MAX_FILE_BYTES;
pub use publisher::{Publisher, TargetResult};
pub use report::{DriftMemory, PublishOutcome, PublishReport, PublishTargetSummary, RequestCounts};
pub use request::{
    AdHocPublish, Credentials, MappingPublish, PublishOptions, PublishSource, SourceRevision,
    StandalonePublish,
};
pub use standalone::StandalonePublisher;
pub use step::PublishStep;
