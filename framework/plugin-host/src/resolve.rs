//! Where a plugin's library file is. A config names a library by `path`; without one, the plugin is a built-in and
//! its library is `lib retain_plugin_<name>` with the platform's prefix and suffix (`libretain_plugin_replay.so` on
//! Linux — the file cargo makes of the built-in crate `retain-plugin-<name>`), searched in this order:
//! 1. every directory in `RETAIN_PLUGIN_DIR` (a `PATH`-style list), for installed or relocated builds;
//! 2. the directory of the running executable, and its parent (tests and benches run from `target/<profile>/deps`);
//! 3. the workspace's target directory this retain was built in (`$CARGO_TARGET_DIR` at build time, else
//!    `<workspace>/target`), profile `release` then `debug`.
//!
//! `cargo build --workspace` builds every built-in next to the `retain` binary, so step 2 finds them.
//! A relative `path` is taken relative to the current directory (callers that know the config file's directory
//! should resolve it against that first).

use crate::error::PluginHostError;
use std::path::{Path, PathBuf};

/// The file name of a built-in plugin's library on this platform.
pub fn builtin_file_name(name: &str) -> String {
    format!("{}retain_plugin_{name}{}", std::env::consts::DLL_PREFIX, std::env::consts::DLL_SUFFIX)
}

/// The directories searched for built-in plugins, in order.
pub fn builtin_search_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(list) = std::env::var_os("RETAIN_PLUGIN_DIR") {
        dirs.extend(std::env::split_paths(&list).filter(|p| !p.as_os_str().is_empty()));
    }
    if let Some(exe_dir) = std::env::current_exe().ok().and_then(|p| p.parent().map(Path::to_path_buf)) {
        if let Some(parent) = exe_dir.parent() {
            let parent = parent.to_path_buf();
            dirs.push(exe_dir);
            dirs.push(parent);
        } else {
            dirs.push(exe_dir);
        }
    }
    let target = match option_env!("CARGO_TARGET_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"),
    };
    dirs.push(target.join("release"));
    dirs.push(target.join("debug"));
    dirs
}

/// The library file of plugin `name`: `path` when given (it must exist), else the built-in's library.
pub fn resolve_library(name: &str, path: Option<&Path>) -> Result<PathBuf, PluginHostError> {
    match path {
        Some(path) if path.is_file() => Ok(path.to_path_buf()),
        Some(path) => Err(PluginHostError::NotFound {
            plugin: name.to_owned(),
            searched: vec![path.to_path_buf()],
            hint: " (check `path`; build the plugin crate with `cargo build --release` first)".to_owned(),
        }),
        None => {
            let file = builtin_file_name(name);
            let searched: Vec<PathBuf> = builtin_search_dirs().into_iter().map(|d| d.join(&file)).collect();
            match searched.iter().find(|p| p.is_file()) {
                Some(found) => Ok(found.clone()),
                None => Err(PluginHostError::NotFound {
                    plugin: name.to_owned(),
                    searched,
                    hint: format!(
                        " (`{name}` has no `path`, so it must be a built-in: build the built-ins with \
                         `cargo build --workspace`, set RETAIN_PLUGIN_DIR, or give the plugin's `path`)"
                    ),
                }),
            }
        }
    }
}
