//! Records the compiler version for run environments (`mlflow_core::track::Environment`).
fn main() {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    let version = std::process::Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|| "rustc (unknown version)".to_owned());
    println!("cargo:rustc-env=MLFLOW_RUSTC_VERSION={version}");
    println!("cargo:rerun-if-env-changed=RUSTC");
}
