//! `trustbench certs extract`: the built-in certificates of a kernel image.

use clap::{Args, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use trustbench::crypto::{self, CryptoProfile};
use trustbench::formats::kernel_image;
use trustbench::trust::Store;
use trustbench::Error;

#[derive(Subcommand, Debug)]
pub enum CertsCmd {
    /// Extract the compiled-in certificates (system_certificate_list) from a kernel image
    /// (bzImage with a gzip/xz/zstd payload, or an uncompressed vmlinux), so a
    /// distribution's modules can be verified end to end:
    ///
    ///   trustbench certs extract /boot/vmlinuz-$(uname -r) --out certs/
    ///   trustbench run --corpus /lib/modules/$(uname -r) --trust certs/builtin-0.der
    Extract(ExtractArgs),
}

#[derive(Args, Debug)]
pub struct ExtractArgs {
    /// The kernel image.
    pub image: PathBuf,
    /// Directory for builtin-N.der (default: print only).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

pub fn run(cmd: CertsCmd) -> Result<ExitCode, Error> {
    let CertsCmd::Extract(a) = cmd;
    let image = std::fs::read(&a.image).map_err(|e| Error::io(&a.image, e))?;
    let kernel = kernel_image::kernel_payload(&image).map_err(|e| Error::Input {
        path: a.image.clone(),
        message: e.to_string(),
    })?;
    let store = Store::new(
        Default::default(),
        CryptoProfile::full(),
        crypto::default_backend(),
    );
    let certs = kernel_image::scan_certificates(&kernel, &|der| store.parse_cert(der).is_ok());
    if certs.is_empty() {
        eprintln!("trustbench: no certificates found in {}", a.image.display());
        return Ok(ExitCode::from(1));
    }
    if let Some(dir) = &a.out {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    for (i, der) in certs.iter().enumerate() {
        let desc = store
            .parse_cert(der)
            .map(|c| {
                format!(
                    "{} [{}]",
                    c.key.description,
                    c.key.public.algo().kernel_name()
                )
            })
            .unwrap_or_default();
        match &a.out {
            Some(dir) => {
                let p = dir.join(format!("builtin-{i}.der"));
                std::fs::write(&p, der).map_err(|e| Error::io(&p, e))?;
                println!("{}\t{desc}", p.display());
            }
            None => println!("{i}\t{desc}"),
        }
    }
    Ok(ExitCode::SUCCESS)
}
