//! Reading a CTranslate2 `model.bin` (format version 6): a flat list of named tensors.

use super::AsrError;
use std::collections::HashMap;

/// Element types CTranslate2 stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dtype {
    /// 32-bit float.
    F32,
    /// 8-bit integer.
    I8,
    /// 16-bit integer.
    I16,
    /// 32-bit integer.
    I32,
    /// IEEE half.
    F16,
    /// bfloat16.
    Bf16,
}

impl Dtype {
    fn from_code(c: u8) -> Result<Self, AsrError> {
        Ok(match c {
            0 => Self::F32,
            1 => Self::I8,
            2 => Self::I16,
            3 => Self::I32,
            4 => Self::F16,
            5 => Self::Bf16,
            _ => return Err(AsrError::BadModel(format!("unknown CTranslate2 dtype {c}"))),
        })
    }

    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            Self::I8 => 1,
            Self::I16 | Self::F16 | Self::Bf16 => 2,
            Self::F32 | Self::I32 => 4,
        }
    }
}

/// One stored tensor.
#[derive(Debug, Clone)]
pub struct Variable {
    /// Shape, outermost first (numpy order).
    pub dims: Vec<usize>,
    /// Element type.
    pub dtype: Dtype,
    /// Raw little-endian bytes.
    pub data: Vec<u8>,
}

impl Variable {
    /// The values as f32, whatever the stored float type.
    pub fn to_f32(&self) -> Result<Vec<f32>, AsrError> {
        let d = &self.data;
        Ok(match self.dtype {
            Dtype::F32 => d
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
            Dtype::F16 => d
                .chunks_exact(2)
                .map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32())
                .collect(),
            Dtype::Bf16 => d
                .chunks_exact(2)
                .map(|c| half::bf16::from_le_bytes([c[0], c[1]]).to_f32())
                .collect(),
            other => {
                return Err(AsrError::BadModel(format!(
                    "expected floats, found {other:?}"
                )))
            }
        })
    }
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], AsrError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|e| *e <= self.buf.len())
            .ok_or_else(|| AsrError::BadModel("CTranslate2 file is truncated".into()))?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8, AsrError> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, AsrError> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Result<u32, AsrError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn string(&mut self) -> Result<String, AsrError> {
        let n = self.u16()? as usize;
        let b = self.take(n)?;
        let b = b.strip_suffix(&[0]).unwrap_or(b);
        String::from_utf8(b.to_vec()).map_err(|_| AsrError::BadModel("non-UTF-8 name".into()))
    }
}

/// A whole CTranslate2 model.
#[derive(Debug)]
pub struct Ct2Model {
    /// Spec name, e.g. `WhisperSpec`.
    pub spec: String,
    /// Tensors by name.
    pub vars: HashMap<String, Variable>,
}

/// Parses `model.bin` bytes.
pub fn parse(buf: &[u8]) -> Result<Ct2Model, AsrError> {
    let mut r = Reader { buf, pos: 0 };
    let version = r.u32()?;
    if version != 6 {
        return Err(AsrError::BadModel(format!(
            "CTranslate2 format version {version} is not supported (expected 6)"
        )));
    }
    let spec = r.string()?;
    let _revision = r.u32()?;
    let count = r.u32()? as usize;
    let mut vars = HashMap::with_capacity(count);
    for _ in 0..count {
        let name = r.string()?;
        let rank = r.u8()? as usize;
        let mut dims = Vec::with_capacity(rank);
        for _ in 0..rank {
            dims.push(r.u32()? as usize);
        }
        let dtype = Dtype::from_code(r.u8()?)?;
        let nbytes = r.u32()? as usize;
        let elems: usize = dims.iter().product::<usize>().max(1);
        if elems * dtype.size() != nbytes {
            return Err(AsrError::BadModel(format!(
                "{name}: {nbytes} bytes do not fit shape {dims:?} of {dtype:?}"
            )));
        }
        let data = r.take(nbytes)?.to_vec();
        vars.insert(name, Variable { dims, dtype, data });
    }
    Ok(Ct2Model { spec, vars })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put_str(out: &mut Vec<u8>, s: &str) {
        out.extend(((s.len() + 1) as u16).to_le_bytes());
        out.extend(s.as_bytes());
        out.push(0);
    }

    #[test]
    fn parses_a_small_file_and_rejects_truncation() {
        let mut b = Vec::new();
        b.extend(6u32.to_le_bytes());
        put_str(&mut b, "WhisperSpec");
        b.extend(1u32.to_le_bytes());
        b.extend(1u32.to_le_bytes());
        put_str(&mut b, "a/b");
        b.push(2);
        b.extend(2u32.to_le_bytes());
        b.extend(1u32.to_le_bytes());
        b.push(4);
        b.extend(4u32.to_le_bytes());
        b.extend(half::f16::from_f32(1.5).to_le_bytes());
        b.extend(half::f16::from_f32(-2.0).to_le_bytes());
        let m = parse(&b).unwrap();
        assert_eq!(m.spec, "WhisperSpec");
        let v = &m.vars["a/b"];
        assert_eq!(v.dims, vec![2, 1]);
        assert_eq!(v.to_f32().unwrap(), vec![1.5, -2.0]);
        assert!(parse(&b[..b.len() - 1]).is_err());
        let mut bad = b.clone();
        bad[0] = 5;
        assert!(parse(&bad).is_err());
    }
}
