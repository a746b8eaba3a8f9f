//! Repository checks that run as ordinary tests, after rust-analyzer's `xtask/src/tidy.rs`.
//!
//! They run with `cargo xtask tidy` and, because they live in the xtask crate, as part of
//! `cargo test --workspace` in CI. Each check is its own test and its failure lists every
//! offender, so one run shows everything there is to fix.

use std::{
    env, fs,
    path::{Path, PathBuf},
    process::Command,
};

use serde_json::Value;

use crate::project_root;

/// Weir's crates from the bottom up. A crate may only depend on crates listed before it,
/// and only on those its entry in `ALLOWED_DEPENDENCIES` names.
const LAYERING: &[&str] = &[
    "weir-spec",
    "weir-auth",
    "weir-catalog",
    "weir-log",
    "weir-live",
    "weir-http",
    "weir-ingest",
    "weir-warehouse",
    "weir-pipeline",
    "weir-admin",
    "weir",
];

/// Which weir crates each crate in `crates/` may use as normal dependencies.
const ALLOWED_DEPENDENCIES: &[(&str, Allowed)] = &[
    ("weir-spec", Allowed::Only(&[])),
    ("weir-auth", Allowed::Only(&["weir-spec"])),
    ("weir-catalog", Allowed::Only(&["weir-spec", "weir-auth"])),
    ("weir-log", Allowed::Only(&[])),
    ("weir-live", Allowed::Only(&["weir-spec"])),
    ("weir-http", Allowed::Only(&["weir-spec", "weir-auth"])),
    (
        "weir-ingest",
        Allowed::Only(&[
            "weir-spec",
            "weir-auth",
            "weir-log",
            "weir-live",
            "weir-http",
        ]),
    ),
    ("weir-warehouse", Allowed::Only(&["weir-spec"])),
    (
        "weir-pipeline",
        Allowed::Only(&["weir-spec", "weir-catalog", "weir-log", "weir-warehouse"]),
    ),
    (
        "weir-admin",
        Allowed::Only(&[
            "weir-spec",
            "weir-auth",
            "weir-catalog",
            "weir-log",
            "weir-live",
            "weir-http",
            "weir-pipeline",
            "weir-warehouse",
        ]),
    ),
    ("weir", Allowed::AnyBelow),
];

enum Allowed {
    /// Exactly these crates, each of which must sit lower in `LAYERING`.
    Only(&'static [&'static str]),
    /// Any weir crate lower in `LAYERING`.
    AnyBelow,
}

/// The binary crate: nothing may depend on it.
const BINARY_CRATE: &str = "weir";

/// `weir-spec` is the pure data model (no IO, no async); crates whose names start with one of
/// these may not be its normal dependencies.
const IO_CRATE_PREFIXES: &[&str] = &[
    "tokio",
    "hyper",
    "rusqlite",
    "postgres",
    "tokio-postgres",
    "async-nats",
    "reqwest",
];

/// Macros that must not reach library code.
const BANNED_MACROS: &[&str] = &["dbg!(", "todo!(", "unimplemented!("];

/// Top-level folders whose Rust files the checks read.
const SOURCE_FOLDERS: &[&str] = &["crates", "xtask", "tests", "fuzz"];

#[test]
fn tidy_every_rust_file_starts_with_a_module_doc_comment() {
    let root = project_root();
    let mut offenders = Vec::new();
    for folder in SOURCE_FOLDERS {
        for file in rust_files(&root.join(folder)) {
            let text = fs::read_to_string(&file).unwrap();
            if !text.starts_with("//!") {
                offenders.push(relative(&root, &file));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "these files must begin with a `//!` comment saying what the module is for:\n{}",
        bullets(&offenders)
    );
}

#[test]
fn tidy_dependency_table_follows_the_layering() {
    let mut problems = Vec::new();
    for (position, name) in LAYERING.iter().enumerate() {
        if LAYERING[..position].contains(name) {
            problems.push(format!("`{name}` appears twice in LAYERING"));
        }
        if allowed_dependencies(name).is_none() {
            problems.push(format!(
                "`{name}` is in LAYERING but not in ALLOWED_DEPENDENCIES"
            ));
        }
    }
    for (name, allowed) in ALLOWED_DEPENDENCIES {
        let Some(rank) = layer(name) else {
            problems.push(format!(
                "`{name}` is in ALLOWED_DEPENDENCIES but not in LAYERING"
            ));
            continue;
        };
        if let Allowed::Only(dependencies) = allowed {
            for dependency in *dependencies {
                if layer(dependency).is_none_or(|dependency_rank| dependency_rank >= rank) {
                    problems.push(format!(
                        "`{name}` may use `{dependency}`, which is not below it in LAYERING"
                    ));
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "the dependency table in xtask/src/tidy.rs is inconsistent:\n{}",
        bullets(&problems)
    );
}

#[test]
fn tidy_weir_crates_depend_only_downwards() {
    let root = project_root();
    let crates_folder = canonical(&root.join("crates"));
    let packages = workspace_packages();
    let mut problems = Vec::new();
    for package in &packages {
        let name = package["name"].as_str().unwrap();
        for dependency in dependencies(package) {
            if dependency.name == BINARY_CRATE {
                problems.push(format!(
                    "`{name}` depends on `{BINARY_CRATE}`, the binary crate; \
                     move the code it needs into a library crate"
                ));
            }
        }

        let manifest = Path::new(package["manifest_path"].as_str().unwrap());
        if !canonical(manifest).starts_with(&crates_folder) {
            continue; // xtask and the integration tests are not layered.
        }
        let (Some(rank), Some(allowed)) = (layer(name), allowed_dependencies(name)) else {
            problems.push(format!(
                "`{name}` has no place in the layering: add it to LAYERING and \
                 ALLOWED_DEPENDENCIES in xtask/src/tidy.rs, above the crates it uses \
                 and below the crates that use it"
            ));
            continue;
        };
        for dependency in dependencies(package) {
            if dependency.kind.is_some() || !is_weir_crate(&dependency.name) {
                continue; // dev- and build-dependencies, third-party crates
            }
            let permitted = match allowed {
                Allowed::Only(list) => list.contains(&dependency.name.as_str()),
                Allowed::AnyBelow => layer(&dependency.name).is_some_and(|other| other < rank),
            };
            if !permitted {
                problems.push(format!(
                    "`{name}` depends on `{}`, which the layering in xtask/src/tidy.rs forbids",
                    dependency.name
                ));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "weir crates must depend only downwards:\n{}",
        bullets(&problems)
    );
}

#[test]
fn tidy_weir_spec_has_no_io_or_async_dependencies() {
    let packages = workspace_packages();
    let spec = packages
        .iter()
        .find(|package| package["name"] == "weir-spec")
        .expect("cargo metadata lists no `weir-spec` package");
    let offenders: Vec<String> = dependencies(spec)
        .into_iter()
        .filter(|dependency| dependency.kind.is_none())
        .map(|dependency| dependency.name)
        .filter(|name| {
            IO_CRATE_PREFIXES
                .iter()
                .any(|prefix| name.starts_with(prefix))
        })
        .collect();
    assert!(
        offenders.is_empty(),
        "weir-spec is the pure data model (no IO, no async) but depends on:\n{}\
         move that code to a crate further up the layering",
        bullets(&offenders)
    );
}

#[test]
fn tidy_library_code_has_no_debugging_macros() {
    let root = project_root();
    let mut offenders = Vec::new();
    for crate_folder in subfolders(&root.join("crates")) {
        for file in rust_files(&crate_folder.join("src")) {
            let text = fs::read_to_string(&file).unwrap();
            for (index, line) in text.lines().enumerate() {
                for banned in BANNED_MACROS {
                    if contains_macro_call(line, banned) {
                        let file = relative(&root, &file);
                        offenders.push(format!("{file}:{}: {banned}", index + 1));
                    }
                }
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "remove {} from crates/*/src:\n{}",
        BANNED_MACROS.join(", "),
        bullets(&offenders)
    );
}

#[test]
fn tidy_architecture_md_mentions_every_crate() {
    let root = project_root();
    let path = root.join("ARCHITECTURE.md");
    let text = fs::read_to_string(&path).unwrap_or_else(|error| {
        panic!(
            "cannot read {} ({error}); it holds the code map, with a section per crate in crates/",
            path.display()
        )
    });
    let missing: Vec<String> = subfolders(&root.join("crates"))
        .iter()
        .filter_map(|folder| folder.file_name()?.to_str().map(str::to_owned))
        .filter(|name| !mentions(&text, name))
        .collect();
    assert!(
        missing.is_empty(),
        "ARCHITECTURE.md's code map does not mention these crates; give each a short section \
         (what it is for, its invariants, its API boundary):\n{}",
        bullets(&missing)
    );
}

#[test]
fn tidy_mentions_matches_whole_crate_names_only() {
    assert!(mentions("### `crates/weir`", "weir"));
    assert!(mentions("the weir binary", "weir"));
    assert!(!mentions("`weir-spec` and Weir", "weir"));
    assert!(!mentions("see weir.toml", "weir"));
    assert!(mentions("ends with weir.", "weir"));
    assert!(!contains_macro_call("let my_todo!(x)", "todo!("));
    assert!(contains_macro_call("    todo!()", "todo!("));
}

struct Dependency {
    name: String,
    /// `None` for a normal dependency, `Some("dev")` or `Some("build")` otherwise.
    kind: Option<String>,
}

/// The workspace's packages, from `cargo metadata --no-deps`.
fn workspace_packages() -> Vec<Value> {
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .current_dir(project_root())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "cargo metadata failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut metadata: Value = serde_json::from_slice(&output.stdout).unwrap();
    match metadata["packages"].take() {
        Value::Array(packages) => packages,
        other => panic!("cargo metadata has no package list: {other}"),
    }
}

fn dependencies(package: &Value) -> Vec<Dependency> {
    let Some(dependencies) = package["dependencies"].as_array() else {
        return Vec::new();
    };
    dependencies
        .iter()
        .map(|dependency| Dependency {
            name: dependency["name"].as_str().unwrap().to_owned(),
            kind: dependency["kind"].as_str().map(str::to_owned),
        })
        .collect()
}

fn layer(name: &str) -> Option<usize> {
    LAYERING.iter().position(|layered| *layered == name)
}

fn allowed_dependencies(name: &str) -> Option<&'static Allowed> {
    ALLOWED_DEPENDENCIES
        .iter()
        .find(|(crate_name, _)| *crate_name == name)
        .map(|(_, allowed)| allowed)
}

fn is_weir_crate(name: &str) -> bool {
    name == BINARY_CRATE || name.starts_with("weir-")
}

/// Whether `text` names `crate_name` as a whole word: not inside `weir-spec` or `weir.toml`.
fn mentions(text: &str, crate_name: &str) -> bool {
    let is_name_char = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    text.match_indices(crate_name).any(|(start, _)| {
        let before = text[..start].chars().next_back();
        let mut after = text[start + crate_name.len()..].chars();
        let next = after.next();
        let extension_follows = next == Some('.') && after.next().is_some_and(is_name_char);
        !before.is_some_and(is_name_char) && !next.is_some_and(is_name_char) && !extension_follows
    })
}

/// Whether `line` calls `banned` (such as `todo!(`) and not a macro whose name ends the same.
fn contains_macro_call(line: &str, banned: &str) -> bool {
    line.match_indices(banned).any(|(start, _)| {
        !line[..start]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_alphanumeric() || c == '_')
    })
}

/// Every `.rs` file below `folder`, sorted, skipping `target/` and hidden folders. Empty if
/// `folder` does not exist.
fn rust_files(folder: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![folder.to_path_buf()];
    while let Some(folder) = pending.pop() {
        let Ok(entries) = fs::read_dir(&folder) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy();
            if path.is_dir() {
                if name != "target" && !name.starts_with('.') {
                    pending.push(path);
                }
            } else if name.ends_with(".rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// The folders directly inside `folder`, sorted, without hidden ones.
fn subfolders(folder: &Path) -> Vec<PathBuf> {
    let mut folders: Vec<PathBuf> = fs::read_dir(folder)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", folder.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_dir())
        .filter(|path| !path.file_name().unwrap().to_string_lossy().starts_with('.'))
        .collect();
    folders.sort();
    folders
}

fn canonical(path: &Path) -> PathBuf {
    path.canonicalize().unwrap_or_else(|_| path.to_path_buf())
}

fn relative(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string()
}

fn bullets(items: &[String]) -> String {
    items.iter().map(|item| format!("  - {item}\n")).collect()
}
