//! The small corpus specs the command-line tests generate: one shape, a few knobs, so that
//! each test says only what differs (its name, seed, signers and item counts).

/// A spec named `name` with `items` modules of 2048 bytes and `items` files of 1024 bytes,
/// 10% bad items, RSA-2048 keys throughout, modules signed by `module_signers` and files by
/// `ima_signer` (`"rsa2048"`, `"p256"`, …).
pub fn tiny_spec(
    name: &str,
    seed: u64,
    items: usize,
    module_signers: &[&str],
    ima_signer: &str,
) -> String {
    let signers: Vec<String> = module_signers.iter().map(|s| format!("\"{s}\"")).collect();
    format!(
        r#"
name = "{name}"
seed = {seed}

[keys]
root = "rsa2048"
secondary_ca = "rsa2048"
machine_ca = "rsa2048"
module_signers = [{}]
ima_signers = ["{ima_signer}"]
extra_key_pool = 1

[modules]
count = {items}
sizes = "fixed:2048"

[files]
count = {items}
sizes = "fixed:1024"

[bad]
percent = 10
"#,
        signers.join(", ")
    )
}
