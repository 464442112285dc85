//! Integration tests of the plugin host against real shared libraries: the workspace's built-in plugins and
//! deliberately broken plugins, all compiled by the test itself (see `plugin_host/build.rs`).

// Helpers outside `#[test]` functions unwrap too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

mod plugin_host {
    mod build;
    mod builtins;
    mod failures;
    mod services;
    mod strategies;
}
