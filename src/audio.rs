//! Audio input for recognition: WAV files of any common sample format, mixed to mono and
//! resampled to 16 kHz.

use std::f64::consts::PI;
use std::path::Path;
use thiserror::Error;

/// Rate the recognizer wants.
pub const TARGET_RATE: u32 = 16_000;

/// Why audio could not be read.
#[derive(Debug, Error)]
pub enum AudioError {
    /// Not a readable WAV file (wrong format, truncated header).
    #[error("{path}: not a WAV file this program can read ({reason})")]
    NotWav {
        /// The file.
        path: String,
        /// What the decoder said.
        reason: String,
    },
    /// A format inside WAV that is not PCM or float.
    #[error("{0}: unsupported sample format")]
    Unsupported(String),
}

/// Reads a WAV file as 16 kHz mono f32. A file cut short mid-data keeps what was readable.
pub fn read_wav_16k(path: &Path) -> Result<Vec<f32>, AudioError> {
    let name = path.display().to_string();
    let mut r = hound::WavReader::open(path).map_err(|e| AudioError::NotWav {
        path: name.clone(),
        reason: e.to_string(),
    })?;
    let spec = r.spec();
    if spec.channels == 0 || spec.sample_rate == 0 {
        return Err(AudioError::Unsupported(name));
    }
    let interleaved: Vec<f32> = match spec.sample_format {
        hound::SampleFormat::Float => r.samples::<f32>().map_while(Result::ok).collect(),
        hound::SampleFormat::Int => {
            let scale = 1.0 / (1u64 << (spec.bits_per_sample.clamp(1, 32) - 1)) as f32;
            r.samples::<i32>()
                .map_while(Result::ok)
                .map(|s| s as f32 * scale)
                .collect()
        }
    };
    let ch = spec.channels as usize;
    let mono: Vec<f32> = interleaved
        .chunks(ch)
        .map(|f| f.iter().sum::<f32>() / f.len() as f32)
        .collect();
    Ok(resample(&mono, spec.sample_rate, TARGET_RATE))
}

/// Band-limited resampling by a windowed sinc (Blackman, 16 zero crossings each side), with
/// the cut-off at the lower of the two Nyquist rates so downsampling does not alias.
pub fn resample(input: &[f32], from: u32, to: u32) -> Vec<f32> {
    if from == to || input.is_empty() {
        return input.to_vec();
    }
    let ratio = to as f64 / from as f64;
    let cutoff = ratio.min(1.0);
    const ZEROS: f64 = 16.0;
    let half_width = ZEROS / cutoff;
    let out_len = ((input.len() as f64) * ratio).floor() as usize;
    let mut out = Vec::with_capacity(out_len);
    for n in 0..out_len {
        let t = n as f64 / ratio; // position in input samples
        let lo = (t - half_width).ceil().max(0.0) as usize;
        let hi = ((t + half_width).floor() as usize).min(input.len() - 1);
        let (mut acc, mut wsum) = (0.0f64, 0.0f64);
        for (k, &x) in input.iter().enumerate().take(hi + 1).skip(lo) {
            let d = k as f64 - t;
            let s = if d.abs() < 1e-12 {
                1.0
            } else {
                (PI * d * cutoff).sin() / (PI * d * cutoff)
            };
            let w =
                0.42 + 0.5 * (PI * d / half_width).cos() + 0.08 * (2.0 * PI * d / half_width).cos();
            acc += x as f64 * s * w;
            wsum += s * w;
        }
        out.push(if wsum.abs() > 1e-9 {
            (acc / wsum) as f32
        } else {
            0.0
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(freq: f64, rate: u32, secs: f64) -> Vec<f32> {
        (0..(rate as f64 * secs) as usize)
            .map(|i| (2.0 * PI * freq * i as f64 / rate as f64).sin() as f32 * 0.5)
            .collect()
    }

    fn rms(v: &[f32]) -> f32 {
        (v.iter().map(|x| x * x).sum::<f32>() / v.len().max(1) as f32).sqrt()
    }

    #[test]
    fn downsampling_keeps_speech_band_and_removes_what_cannot_be_represented() {
        let speech = resample(&tone(1000.0, 48_000, 1.0), 48_000, 16_000);
        assert_eq!(speech.len(), 16_000);
        assert!(
            (rms(&speech[1000..15000]) - 0.3536).abs() < 0.01,
            "{}",
            rms(&speech)
        );
        // 12 kHz is above 16 kHz's Nyquist rate: it must not fold back as audible energy.
        let alias = resample(&tone(12_000.0, 48_000, 1.0), 48_000, 16_000);
        assert!(
            rms(&alias[1000..15000]) < 0.01,
            "{}",
            rms(&alias[1000..15000])
        );
    }

    #[test]
    fn upsampling_preserves_a_tone() {
        let up = resample(&tone(440.0, 8_000, 0.5), 8_000, 16_000);
        assert_eq!(up.len(), 8_000);
        assert!((rms(&up[500..7500]) - 0.3536).abs() < 0.01);
    }

    #[test]
    fn non_wav_input_is_a_clear_error() {
        let dir = std::env::temp_dir().join(format!("sr-audio-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("x.wav");
        std::fs::write(&p, b"this is not audio").unwrap();
        let e = read_wav_16k(&p).unwrap_err().to_string();
        assert!(e.contains("not a WAV file"), "{e}");
    }
}
