//! The hub of `bench payments` in a process of its own (the `fulgur` binary, started as
//! `fulgur bench hub-process`), reached by the load generators over real TCP and driven by the
//! benchmark over the child's stdin and stdout; what it costs is read from `/proc/<pid>`.

pub mod child;
pub mod protocol;
pub mod remote;

pub use remote::{HubLaunch, RemoteHub};
