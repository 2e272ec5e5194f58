//! Long-running work over a whole index or input set, used by the CLI and
//! the server alike: [`import`], [`batch`] and its [`report`], [`verify`],
//! [`snapshot`] and export, [`info`]. Each calls the [`crate::engine`]; none knows about
//! argument parsing or HTTP.

pub mod batch;
pub mod import;
pub mod info;
pub mod inputs;
pub mod report;
pub mod snapshot;
pub mod verify;
