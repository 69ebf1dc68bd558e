//! The Slaney-style mel filterbank Whisper was trained with (librosa's defaults for
//! sr = 16 000, n_fft = 400, 80 bands; the same numbers as OpenAI's `mel_filters.npz`).

const SR: f64 = 16_000.0;
/// FFT size Whisper uses.
pub const N_FFT: usize = 400;
/// Mel bands of Whisper base.
pub const N_MELS: usize = 80;
/// Frequency bins of one FFT frame.
pub const N_BINS: usize = N_FFT / 2 + 1;

const F_SP: f64 = 200.0 / 3.0;
const MIN_LOG_HZ: f64 = 1000.0;
const MIN_LOG_MEL: f64 = MIN_LOG_HZ / F_SP;

fn logstep() -> f64 {
    6.4f64.ln() / 27.0
}

fn hz_to_mel(f: f64) -> f64 {
    if f >= MIN_LOG_HZ {
        MIN_LOG_MEL + (f / MIN_LOG_HZ).ln() / logstep()
    } else {
        f / F_SP
    }
}

fn mel_to_hz(m: f64) -> f64 {
    if m >= MIN_LOG_MEL {
        MIN_LOG_HZ * (logstep() * (m - MIN_LOG_MEL)).exp()
    } else {
        F_SP * m
    }
}

/// `N_MELS` rows of `N_BINS` weights, row-major.
pub fn filterbank() -> Vec<f32> {
    let fft: Vec<f64> = (0..N_BINS)
        .map(|i| i as f64 * (SR / 2.0) / (N_BINS - 1) as f64)
        .collect();
    let (lo, hi) = (hz_to_mel(0.0), hz_to_mel(SR / 2.0));
    let mel_f: Vec<f64> = (0..N_MELS + 2)
        .map(|i| mel_to_hz(lo + (hi - lo) * i as f64 / (N_MELS + 1) as f64))
        .collect();
    let mut w = vec![0f32; N_MELS * N_BINS];
    for m in 0..N_MELS {
        let (f0, f1, f2) = (mel_f[m], mel_f[m + 1], mel_f[m + 2]);
        let enorm = 2.0 / (f2 - f0);
        for (k, &f) in fft.iter().enumerate() {
            let lower = (f - f0) / (f1 - f0);
            let upper = (f2 - f) / (f2 - f1);
            w[m * N_BINS + k] = (lower.min(upper).max(0.0) * enorm) as f32;
        }
    }
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mel_scale_round_trips_and_filters_are_triangles() {
        for f in [0.0, 440.0, 999.0, 1000.0, 4000.0, 8000.0] {
            assert!((mel_to_hz(hz_to_mel(f)) - f).abs() < 1e-6);
        }
        let w = filterbank();
        assert_eq!(w.len(), N_MELS * N_BINS);
        // Every band has weight, each has a single peak, and the last bin (8 kHz) is unused.
        for m in 0..N_MELS {
            let row = &w[m * N_BINS..(m + 1) * N_BINS];
            assert!(row.iter().any(|v| *v > 0.0), "band {m} empty");
            assert_eq!(row[N_BINS - 1], 0.0);
        }
        // Known value of OpenAI's mel_filters.npz (80 bands): band 0 peaks at bin 1 with 0.02486.
        assert!((w[1] - 0.024_862).abs() < 2e-5, "{}", w[1]);
    }
}
