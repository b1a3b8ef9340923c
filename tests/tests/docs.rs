//! Every troubleshooting anchor an error can link to has a section in
//! `docs/TROUBLESHOOTING.md`.

use identity::error::anchors;

#[test]
fn every_anchor_has_a_troubleshooting_section() {
    let guide = include_str!("../../docs/TROUBLESHOOTING.md");
    for anchor in anchors::ALL {
        assert!(
            guide
                .lines()
                .any(|line| line.trim() == format!("## {anchor}")),
            "docs/TROUBLESHOOTING.md has no `## {anchor}` section"
        );
    }
}
