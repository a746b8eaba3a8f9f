//! A first check that the integration-test binary builds and runs from the repository root.

use std::path::Path;

#[test]
fn repository_root_has_a_readme() {
    let readme = Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md");
    assert!(readme.is_file(), "expected {} to exist", readme.display());
}
