//! CTranslate2 Whisper → whisper.cpp ggml. Tensor names, shapes and types follow what
//! whisper.cpp checks on load; see DESIGN.md for the mapping.

use super::ct2::{Ct2Model, Variable};
use super::{mel, AsrError};
use std::io::Write;

/// Weight encoding of the 2-D matrices in the output file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quant {
    /// IEEE half (the model as trained).
    F16,
    /// 8-bit blocks of 32 with an f16 scale (whisper.cpp's Q8_0).
    Q8_0,
}

impl Quant {
    fn file_ftype(self) -> i32 {
        match self {
            Quant::F16 => 1,
            // GGML_FTYPE_MOSTLY_Q8_0 plus the quantization-version tag (2 × 1000).
            Quant::Q8_0 => 7 + 2000,
        }
    }
}

const GGML_F32: i32 = 0;
const GGML_F16: i32 = 1;
const GGML_Q8_0: i32 = 8;

/// Hyper-parameters of the model being written.
#[derive(Debug, Clone, Copy)]
struct Hparams {
    n_vocab: usize,
    n_audio_ctx: usize,
    n_audio_state: usize,
    n_audio_head: usize,
    n_audio_layer: usize,
    n_text_ctx: usize,
    n_text_state: usize,
    n_text_head: usize,
    n_text_layer: usize,
}

fn var<'a>(m: &'a Ct2Model, name: &str) -> Result<&'a Variable, AsrError> {
    m.vars.get(name).ok_or_else(|| {
        AsrError::BadModel(format!("tensor {name} missing from the CTranslate2 model"))
    })
}

fn count_layers(m: &Ct2Model, prefix: &str) -> usize {
    (0..)
        .take_while(|i| {
            m.vars
                .contains_key(&format!("{prefix}/layer_{i}/ffn/linear_0/weight"))
        })
        .count()
}

/// Decodes GPT-2's printable byte alphabet back to raw bytes (Chinese characters are split
/// across tokens by byte, so the raw bytes are what whisper.cpp must join).
pub fn token_bytes(token: &str) -> Vec<u8> {
    let mut table = [0u8; 324];
    let mut n = 0u16;
    for b in 0u16..256 {
        let printable =
            (33..=126).contains(&b) || (161..=172).contains(&b) || (174..=255).contains(&b);
        let cp = if printable {
            b
        } else {
            n += 1;
            255 + n
        };
        table[cp as usize] = b as u8;
    }
    token
        .chars()
        .map(|c| {
            let cp = c as usize;
            if cp < table.len() {
                table[cp]
            } else {
                b'?'
            }
        })
        .collect()
}

struct Writer<W: Write> {
    out: W,
    tensors: usize,
    quant: Quant,
}

impl<W: Write> Writer<W> {
    fn i32(&mut self, v: i32) -> Result<(), AsrError> {
        self.out.write_all(&v.to_le_bytes())?;
        Ok(())
    }

    /// Writes one tensor. `shape` is numpy order; ggml wants it reversed.
    fn tensor(
        &mut self,
        name: &str,
        shape: &[usize],
        values: &[f32],
        kind: Kind,
    ) -> Result<(), AsrError> {
        let ttype = match kind {
            Kind::F32 => GGML_F32,
            Kind::F16 => GGML_F16,
            Kind::Weight if self.quant == Quant::Q8_0 => GGML_Q8_0,
            Kind::Weight => GGML_F16,
        };
        self.i32(shape.len() as i32)?;
        self.i32(name.len() as i32)?;
        self.i32(ttype)?;
        for d in shape.iter().rev() {
            self.i32(*d as i32)?;
        }
        self.out.write_all(name.as_bytes())?;
        match ttype {
            GGML_F32 => {
                for v in values {
                    self.out.write_all(&v.to_le_bytes())?;
                }
            }
            GGML_F16 => {
                for v in values {
                    self.out.write_all(&half::f16::from_f32(*v).to_le_bytes())?;
                }
            }
            _ => self.out.write_all(&quantize_q8_0(values))?,
        }
        self.tensors += 1;
        Ok(())
    }
}

#[derive(Clone, Copy)]
enum Kind {
    F32,
    F16,
    Weight,
}

/// whisper.cpp's Q8_0: per 32 values, an f16 scale then 32 signed bytes.
pub fn quantize_q8_0(values: &[f32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(values.len() / 32 * 34);
    for block in values.chunks(32) {
        let amax = block.iter().fold(0f32, |a, v| a.max(v.abs()));
        let d = amax / 127.0;
        let inv = if d > 0.0 { 1.0 / d } else { 0.0 };
        out.extend(half::f16::from_f32(d).to_le_bytes());
        for i in 0..32 {
            let v = block.get(i).copied().unwrap_or(0.0);
            out.push((v * inv).round().clamp(-127.0, 127.0) as i8 as u8);
        }
    }
    out
}

fn rows(v: &[f32], width: usize, from: usize, to: usize) -> &[f32] {
    &v[from * width..to * width]
}

/// Converts a parsed CTranslate2 Whisper model plus its `vocabulary.txt` into a ggml file.
pub fn convert<W: Write>(
    m: &Ct2Model,
    vocabulary: &str,
    quant: Quant,
    out: W,
) -> Result<usize, AsrError> {
    if m.spec != "WhisperSpec" {
        return Err(AsrError::BadModel(format!(
            "not a Whisper model: {}",
            m.spec
        )));
    }
    let emb = var(m, "decoder/embeddings/weight")?;
    let enc_pos = var(m, "encoder/position_encodings/encodings")?;
    let dec_pos = var(m, "decoder/position_encodings/encodings")?;
    let conv1 = var(m, "encoder/conv1/weight")?;
    let n_audio_layer = count_layers(m, "encoder");
    let n_text_layer = count_layers(m, "decoder");
    let state = emb.dims.get(1).copied().unwrap_or(0);
    // Whisper's heads are 64 wide in every size.
    let hp = Hparams {
        n_vocab: emb.dims[0],
        n_audio_ctx: enc_pos.dims[0],
        n_audio_state: state,
        n_audio_head: state / 64,
        n_audio_layer,
        n_text_ctx: dec_pos.dims[0],
        n_text_state: state,
        n_text_head: state / 64,
        n_text_layer,
    };
    let n_mels = conv1.dims.get(1).copied().unwrap_or(0);
    if n_mels != mel::N_MELS || n_audio_layer == 0 || state == 0 {
        return Err(AsrError::BadModel(format!(
            "unexpected model shape: {n_mels} mels, {n_audio_layer} layers, width {state}"
        )));
    }
    let mut w = Writer {
        out: std::io::BufWriter::new(out),
        tensors: 0,
        quant,
    };
    w.i32(0x6767_6d6c)?;
    for v in [
        hp.n_vocab,
        hp.n_audio_ctx,
        hp.n_audio_state,
        hp.n_audio_head,
        hp.n_audio_layer,
        hp.n_text_ctx,
        hp.n_text_state,
        hp.n_text_head,
        hp.n_text_layer,
        n_mels,
    ] {
        w.i32(v as i32)?;
    }
    w.i32(quant.file_ftype())?;
    w.i32(mel::N_MELS as i32)?;
    w.i32(mel::N_BINS as i32)?;
    for v in mel::filterbank() {
        w.out.write_all(&v.to_le_bytes())?;
    }
    // The base vocabulary is every line before the first special token.
    let tokens: Vec<&str> = vocabulary
        .split('\n')
        .take_while(|t| *t != "<|endoftext|>")
        .collect();
    w.i32(tokens.len() as i32)?;
    for t in &tokens {
        let b = token_bytes(t);
        w.i32(b.len() as i32)?;
        w.out.write_all(&b)?;
    }

    let f = |name: &str| -> Result<(Vec<usize>, Vec<f32>), AsrError> {
        let v = var(m, name)?;
        Ok((v.dims.clone(), v.to_f32()?))
    };
    let (s, p) = f("encoder/position_encodings/encodings")?;
    w.tensor("encoder.positional_embedding", &s, &p, Kind::F32)?;
    for c in ["conv1", "conv2"] {
        let (s, v) = f(&format!("encoder/{c}/weight"))?;
        w.tensor(&format!("encoder.{c}.weight"), &s, &v, Kind::F16)?;
        let (s, v) = f(&format!("encoder/{c}/bias"))?;
        w.tensor(&format!("encoder.{c}.bias"), &[s[0], 1], &v, Kind::F32)?;
    }
    for i in 0..hp.n_audio_layer {
        let (src, dst) = (format!("encoder/layer_{i}"), format!("encoder.blocks.{i}"));
        self_attention(&mut w, &f, &src, &dst, state)?;
        mlp(&mut w, &f, &src, &dst)?;
    }
    norm(&mut w, &f, "encoder/layer_norm", "encoder.ln_post")?;

    let (s, p) = f("decoder/position_encodings/encodings")?;
    w.tensor("decoder.positional_embedding", &s, &p, Kind::F32)?;
    let (s, e) = f("decoder/embeddings/weight")?;
    w.tensor("decoder.token_embedding.weight", &s, &e, Kind::Weight)?;
    for i in 0..hp.n_text_layer {
        let (src, dst) = (format!("decoder/layer_{i}"), format!("decoder.blocks.{i}"));
        self_attention(&mut w, &f, &src, &dst, state)?;
        norm(
            &mut w,
            &f,
            &format!("{src}/attention/layer_norm"),
            &format!("{dst}.cross_attn_ln"),
        )?;
        linear(
            &mut w,
            &f,
            &format!("{src}/attention/linear_0"),
            &format!("{dst}.cross_attn.query"),
        )?;
        fused(
            &mut w,
            &f,
            &format!("{src}/attention/linear_1"),
            &dst,
            &["cross_attn.key", "cross_attn.value"],
            state,
        )?;
        linear(
            &mut w,
            &f,
            &format!("{src}/attention/linear_2"),
            &format!("{dst}.cross_attn.out"),
        )?;
        mlp(&mut w, &f, &src, &dst)?;
    }
    norm(&mut w, &f, "decoder/layer_norm", "decoder.ln")?;
    w.out.flush()?;
    Ok(w.tensors)
}

type Fetch<'a> = dyn Fn(&str) -> Result<(Vec<usize>, Vec<f32>), AsrError> + 'a;

/// A layer's self-attention block (same layout in encoder and decoder).
fn self_attention<W: Write>(
    w: &mut Writer<W>,
    f: &Fetch<'_>,
    src: &str,
    dst: &str,
    state: usize,
) -> Result<(), AsrError> {
    norm(
        w,
        f,
        &format!("{src}/self_attention/layer_norm"),
        &format!("{dst}.attn_ln"),
    )?;
    fused(
        w,
        f,
        &format!("{src}/self_attention/linear_0"),
        dst,
        &["attn.query", "attn.key", "attn.value"],
        state,
    )?;
    linear(
        w,
        f,
        &format!("{src}/self_attention/linear_1"),
        &format!("{dst}.attn.out"),
    )
}

/// A layer's feed-forward block.
fn mlp<W: Write>(w: &mut Writer<W>, f: &Fetch<'_>, src: &str, dst: &str) -> Result<(), AsrError> {
    norm(
        w,
        f,
        &format!("{src}/ffn/layer_norm"),
        &format!("{dst}.mlp_ln"),
    )?;
    linear(
        w,
        f,
        &format!("{src}/ffn/linear_0"),
        &format!("{dst}.mlp.0"),
    )?;
    linear(
        w,
        f,
        &format!("{src}/ffn/linear_1"),
        &format!("{dst}.mlp.2"),
    )
}

fn norm<W: Write>(w: &mut Writer<W>, f: &Fetch<'_>, src: &str, dst: &str) -> Result<(), AsrError> {
    let (s, g) = f(&format!("{src}/gamma"))?;
    w.tensor(&format!("{dst}.weight"), &s, &g, Kind::F32)?;
    let (s, b) = f(&format!("{src}/beta"))?;
    w.tensor(&format!("{dst}.bias"), &s, &b, Kind::F32)
}

fn linear<W: Write>(
    w: &mut Writer<W>,
    f: &Fetch<'_>,
    src: &str,
    dst: &str,
) -> Result<(), AsrError> {
    let (s, v) = f(&format!("{src}/weight"))?;
    w.tensor(&format!("{dst}.weight"), &s, &v, Kind::Weight)?;
    let (s, b) = f(&format!("{src}/bias"))?;
    w.tensor(&format!("{dst}.bias"), &s, &b, Kind::F32)
}

/// Splits a fused projection (CTranslate2 stores Q|K|V or K|V stacked by rows). Keys have no
/// bias in Whisper: CTranslate2 stores zeros there and whisper.cpp expects none.
fn fused<W: Write>(
    w: &mut Writer<W>,
    f: &Fetch<'_>,
    src: &str,
    dst: &str,
    parts: &[&str],
    state: usize,
) -> Result<(), AsrError> {
    let (s, v) = f(&format!("{src}/weight"))?;
    let (_, b) = f(&format!("{src}/bias"))?;
    if s.len() != 2 || s[0] != state * parts.len() || s[1] != state {
        return Err(AsrError::BadModel(format!(
            "{src}: unexpected fused shape {s:?}"
        )));
    }
    for (k, part) in parts.iter().enumerate() {
        let (from, to) = (k * state, (k + 1) * state);
        w.tensor(
            &format!("{dst}.{part}.weight"),
            &[state, state],
            rows(&v, state, from, to),
            Kind::Weight,
        )?;
        if !part.ends_with("key") {
            w.tensor(
                &format!("{dst}.{part}.bias"),
                &[state],
                &b[from..to],
                Kind::F32,
            )?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gpt2_byte_alphabet_decodes_to_raw_bytes() {
        assert_eq!(token_bytes("hello"), b"hello");
        assert_eq!(token_bytes("Ġthe"), b" the");
        // "场" is e5 9c ba in UTF-8; GPT-2 writes those bytes as "åľº".
        assert_eq!(token_bytes("åľº"), "场".as_bytes());
        assert_eq!(token_bytes("Ċ"), b"\n");
    }

    #[test]
    fn q8_0_blocks_round_trip_within_a_step() {
        let v: Vec<f32> = (0..64).map(|i| (i as f32 - 31.5) / 10.0).collect();
        let q = quantize_q8_0(&v);
        assert_eq!(q.len(), 2 * 34);
        for (b, block) in v.chunks(32).enumerate() {
            let d = half::f16::from_le_bytes([q[b * 34], q[b * 34 + 1]]).to_f32();
            for (i, x) in block.iter().enumerate() {
                let back = (q[b * 34 + 2 + i] as i8) as f32 * d;
                // Half a step, plus the rounding of the scale to f16.
                assert!(
                    (back - x).abs() <= d * 0.5 + 127.0 * d * 1e-3,
                    "{x} -> {back}"
                );
            }
        }
    }
}
