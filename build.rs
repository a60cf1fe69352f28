//! Build script: hands the profile's opt-level to the code, so `make bench` can print which
//! build it measured (cargo tells build scripts through `OPT_LEVEL`; rustc itself cannot know).

fn main() {
    let level = std::env::var("OPT_LEVEL").unwrap_or_else(|_| "unknown".to_string());
    println!("cargo:rustc-env=ETHPEER_OPT_LEVEL={level}");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=OPT_LEVEL");
}
