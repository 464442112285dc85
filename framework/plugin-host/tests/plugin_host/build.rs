//! Builds the real built-in plugin libraries from this workspace, the example user plugin of
//! `examples/custom_plugin`, and a small workspace of deliberately broken plugins, into one dedicated target
//! directory (shared, so abi_stable is compiled once). Runs once per test binary; every test that needs a library
//! calls [`libraries`].

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// Where the test libraries are.
pub struct Libraries {
    /// `target/debug` of the dedicated target dir: the built-ins and the broken plugins.
    pub dir: PathBuf,
    /// A scratch directory for other files (e.g. a text file that is not a library).
    pub scratch: PathBuf,
}

impl Libraries {
    /// The library file of a crate whose lib name is `name`.
    pub fn lib(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{}{name}{}", std::env::consts::DLL_PREFIX, std::env::consts::DLL_SUFFIX))
    }

    /// The library of built-in `name`.
    pub fn builtin(&self, name: &str) -> PathBuf {
        self.lib(&format!("retain_plugin_{name}"))
    }
}

pub const BUILTINS: [&str; 8] =
    ["sequential", "task_success", "partial_progress", "composite", "failure_taxonomy", "replay", "ewc", "kl_previous"];

/// The built-ins that export a strategy (the others export a reward).
pub const BUILTIN_STRATEGIES: [&str; 4] = ["sequential", "replay", "ewc", "kl_previous"];

/// The example user plugin in `examples/custom_plugin`: its package and the library name it builds.
pub const EXAMPLE_PACKAGE: &str = "retain-example-layer-freeze";
/// The library name of [`EXAMPLE_PACKAGE`] (strategy `layer_freeze`).
pub const EXAMPLE_LIB: &str = "retain_plugin_layer_freeze";

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("workspace root")
}

fn cargo(args: &[&str], target: &Path, cwd: &Path) {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output =
        Command::new(cargo).args(args).env("CARGO_TARGET_DIR", target).current_dir(cwd).output().expect("run cargo");
    assert!(output.status.success(), "cargo {args:?} failed:\n{}", String::from_utf8_lossy(&output.stderr));
}

/// Writes `content` to `path` only when it differs, so cargo's incremental builds stay valid across test runs.
fn write(path: &Path, content: &str) {
    if std::fs::read_to_string(path).ok().as_deref() == Some(content) {
        return;
    }
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, content).expect("write");
}

/// A copy of the real plugin API crate with another version and optional source edits: what a plugin author
/// would have if they built against a different retain.
fn api_copy(dir: &Path, version: &str, edit: Option<(&str, &str, &str)>) {
    let src = workspace_root().join("plugins/api/src");
    for entry in std::fs::read_dir(&src).expect("api src") {
        let path = entry.expect("entry").path();
        let name = path.file_name().expect("name").to_string_lossy().into_owned();
        let mut text = std::fs::read_to_string(&path).expect("read api source");
        if let Some((file, from, to)) = edit
            && name == file
        {
            assert!(text.contains(from), "the layout edit no longer applies to {file}: update the test");
            text = text.replace(from, to);
        }
        write(&dir.join("src").join(&name), &text);
    }
    write(
        &dir.join("Cargo.toml"),
        &format!(
            "[package]\nname = \"retain-plugin-api\"\nversion = \"{version}\"\nedition = \"2024\"\npublish = false\n\n\
             [dependencies]\nabi_stable = \"0.11.3\"\nserde = {{ version = \"1\", features = [\"derive\"] }}\n\
             serde_json = {{ version = \"1\", features = [\"preserve_order\", \"float_roundtrip\"] }}\n"
        ),
    );
}

fn plugin_crate(dir: &Path, name: &str, api: &Path, source: &str) {
    write(
        &dir.join("Cargo.toml"),
        &format!(
            "[package]\nname = \"{name}\"\nversion = \"0.3.0\"\nedition = \"2024\"\npublish = false\n\n\
             [lib]\ncrate-type = [\"cdylib\"]\n\n[dependencies]\nretain-plugin-api = {{ path = \"{}\" }}\n\
             serde = {{ version = \"1\", features = [\"derive\"] }}\nserde_json = \"1\"\n",
            api.display()
        ),
    );
    write(&dir.join("src/lib.rs"), source);
}

fn build_all() -> Libraries {
    let target = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("plugin-builds");
    let root = workspace_root();
    let mut args = vec!["build", "--offline", "--quiet"];
    let packages: Vec<String> = BUILTINS.iter().map(|b| format!("retain-plugin-{}", b.replace('_', "-"))).collect();
    for p in &packages {
        args.push("-p");
        args.push(p);
    }
    args.extend(["-p", EXAMPLE_PACKAGE]);
    cargo(&args, &target, &root);

    let broken = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("broken-plugins");
    // The API copies live outside the broken workspace so that they are plain path dependencies, not members.
    let apis = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("broken-plugin-apis");
    let api_v2 = apis.join("api-v2");
    let api_layout = apis.join("api-layout");
    api_copy(&api_v2, "2.0.0", None);
    api_copy(
        &api_layout,
        "1.99.0",
        Some((
            "abi.rs",
            "    /// Something looks wrong but the run continues.\n    Warn,\n",
            "    /// Something looks wrong but the run continues.\n    Warn,\n    /// Added: changes the enum's layout.\n    Error,\n",
        )),
    );
    let real_api = root.join("plugins/api");
    plugin_crate(&broken.join("misbehaving"), "misbehaving", &real_api, include_str!("misbehaving_plugin.rs"));
    plugin_crate(&broken.join("wrong_major"), "wrong_major", &api_v2, include_str!("minimal_plugin.rs"));
    plugin_crate(&broken.join("wrong_layout"), "wrong_layout", &api_layout, include_str!("minimal_plugin.rs"));
    write(
        &broken.join("not_a_plugin/Cargo.toml"),
        "[package]\nname = \"not_a_plugin\"\nversion = \"0.1.0\"\nedition = \"2024\"\npublish = false\n\n\
         [lib]\ncrate-type = [\"cdylib\"]\n",
    );
    write(
        &broken.join("not_a_plugin/src/lib.rs"),
        "//! A shared library that is not a retain plugin.\n\n/// Not a plugin entry point.\n\
         #[unsafe(no_mangle)]\npub extern \"C\" fn answer() -> i32 {\n    42\n}\n",
    );
    let profile = std::fs::read_to_string(root.join("Cargo.toml"))
        .ok()
        .and_then(|t| t.find("[profile.").map(|i| t[i..].to_owned()))
        .unwrap_or_default();
    write(
        &broken.join("Cargo.toml"),
        &format!(
            "[workspace]\nresolver = \"3\"\nmembers = [\"misbehaving\", \"wrong_major\", \"wrong_layout\", \"not_a_plugin\"]\n\n{profile}"
        ),
    );
    if !broken.join("Cargo.lock").exists() {
        std::fs::copy(root.join("Cargo.lock"), broken.join("Cargo.lock")).expect("copy Cargo.lock");
    }
    cargo(&["build", "--offline", "--quiet"], &target, &broken);

    let scratch = broken.join("scratch");
    std::fs::create_dir_all(&scratch).expect("scratch");
    Libraries { dir: target.join("debug"), scratch }
}

/// The libraries, built on first use (a failed build is reported by every test, not retried by each).
pub fn libraries() -> &'static Libraries {
    static BUILT: OnceLock<Result<Libraries, String>> = OnceLock::new();
    let built = BUILT.get_or_init(|| {
        std::panic::catch_unwind(build_all).map_err(|e| {
            e.downcast_ref::<String>().cloned().unwrap_or_else(|| "building the test plugins panicked".to_owned())
        })
    });
    match built {
        Ok(libraries) => libraries,
        Err(message) => panic!("{message}"),
    }
}
