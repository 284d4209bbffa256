//! Decoding of ONNX tensors and declared types into network IR tensors and types.
//!
//! Element counts are computed with checked arithmetic and compared with the limit before any
//! buffer is allocated, so a declared 2^40-element tensor is refused without touching memory.

use ndarray::{ArrayD, IxDyn};
use tract_onnx::pb::tensor_proto::{DataLocation, DataType};
use tract_onnx::pb::{type_proto, TensorProto, TypeProto};

use super::{Dim, ImportError, Limits};
use crate::diag::Location;
use crate::network::{DType, Tensor};

/// How an ONNX element type is held in the network IR.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Elem {
    F32,
    /// An integer type of the given byte width, widened to `i64`.
    Int {
        bytes: usize,
        signed: bool,
    },
    Bool,
}

impl Elem {
    /// The network IR element type.
    pub(super) fn dtype(self) -> DType {
        match self {
            Elem::F32 => DType::F32,
            Elem::Int { .. } => DType::I64,
            Elem::Bool => DType::Bool,
        }
    }
}

/// The name of an ONNX data type code, for messages.
pub(super) fn data_type_name(code: i32) -> String {
    match DataType::try_from(code) {
        Ok(t) => t.as_str_name().to_string(),
        Err(_) => format!("unknown data type {code}"),
    }
}

/// Maps an ONNX element type code to its IR form, or `None` when the IR cannot hold it.
pub(super) fn elem_of(code: i32) -> Option<Elem> {
    let int = |bytes, signed| Some(Elem::Int { bytes, signed });
    match DataType::try_from(code).ok()? {
        DataType::Float => Some(Elem::F32),
        DataType::Int64 => int(8, true),
        DataType::Int32 => int(4, true),
        DataType::Int16 => int(2, true),
        DataType::Int8 => int(1, true),
        DataType::Uint8 => int(1, false),
        DataType::Uint16 => int(2, false),
        DataType::Uint32 => int(4, false),
        DataType::Bool => Some(Elem::Bool),
        DataType::Undefined
        | DataType::String
        | DataType::Float16
        | DataType::Double
        | DataType::Uint64
        | DataType::Complex64
        | DataType::Complex128
        | DataType::Bfloat16
        | DataType::Float8e4m3fn
        | DataType::Float8e4m3fnuz
        | DataType::Float8e5m2
        | DataType::Float8e5m2fnuz
        | DataType::Uint4
        | DataType::Int4
        | DataType::Float4e2m1 => None,
    }
}

/// The IR element type of an ONNX type code, or an error naming `what`.
pub(super) fn dtype_of(code: i32, what: &str, location: &Location) -> Result<DType, ImportError> {
    elem_of(code).map(Elem::dtype).ok_or_else(|| ImportError {
        message: format!(
            "{what} has element type {}, which nn2py does not support (supported: float, \
             bool and integers up to 64 bits, widened to int64)",
            data_type_name(code)
        ),
        location: location.clone(),
    })
}

/// The element count of `shape`, refused when it overflows or exceeds `limits`.
pub(super) fn checked_count(
    shape: &[usize],
    limits: &Limits,
    what: &str,
    location: &Location,
) -> Result<usize, ImportError> {
    let count = shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
    match count {
        Some(n) if n <= limits.max_tensor_elements => Ok(n),
        _ => Err(ImportError {
            message: format!(
                "{what} has shape {shape:?}, more than the limit of {} elements (raise it with \
                 --max-tensor-elements)",
                limits.max_tensor_elements
            ),
            location: location.clone(),
        }),
    }
}

/// Decodes a serialised tensor, checking its type, its size against its dims and `limits`.
///
/// `what` names the tensor in messages (for example `initialiser "w"`).
pub(super) fn tensor(
    proto: &TensorProto,
    limits: &Limits,
    what: &str,
    location: &Location,
) -> Result<Tensor, ImportError> {
    let fail = |message: String| ImportError {
        message: format!("{what}: {message}"),
        location: location.clone(),
    };
    let external = proto.data_location == Some(DataLocation::External as i32);
    if external || !proto.external_data.is_empty() {
        return Err(fail(
            "external tensor data is not supported (save the model with its weights inside)"
                .to_string(),
        ));
    }
    if proto.segment.is_some() {
        return Err(fail("segmented tensors are not supported".to_string()));
    }
    let elem = elem_of(proto.data_type).ok_or_else(|| {
        fail(format!(
            "element type {} is not supported (supported: float, bool and integers up to 64 \
             bits)",
            data_type_name(proto.data_type)
        ))
    })?;
    let mut shape = Vec::with_capacity(proto.dims.len());
    for &d in &proto.dims {
        shape.push(usize::try_from(d).map_err(|_| fail(format!("negative dimension {d}")))?);
    }
    let count = checked_count(&shape, limits, what, location)?;
    let raw = &proto.raw_data;
    let width = match elem {
        Elem::F32 => 4,
        Elem::Int { bytes, .. } => bytes,
        Elem::Bool => 1,
    };
    let check_len = |found: usize, unit: &str| {
        if found == count {
            Ok(())
        } else {
            Err(fail(format!(
                "holds {found} {unit} but its shape {shape:?} needs {count}"
            )))
        }
    };
    let tensor = match elem {
        Elem::F32 => {
            let data: Vec<f32> = if raw.is_empty() {
                check_len(proto.float_data.len(), "floats")?;
                proto.float_data.clone()
            } else {
                check_len(raw.len() / width, "floats").and(exact(raw.len(), width, &fail))?;
                raw.chunks_exact(4)
                    .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                    .collect()
            };
            Tensor::F32(array(&shape, data, &fail)?)
        }
        Elem::Int { bytes, signed } => {
            let data: Vec<i64> = if !raw.is_empty() {
                check_len(raw.len() / width, "elements").and(exact(raw.len(), width, &fail))?;
                raw.chunks_exact(bytes).map(|c| le_int(c, signed)).collect()
            } else if bytes == 8 {
                check_len(proto.int64_data.len(), "int64 values")?;
                proto.int64_data.clone()
            } else if bytes == 4 && !signed {
                check_len(proto.uint64_data.len(), "uint64 values")?;
                proto
                    .uint64_data
                    .iter()
                    .map(|&v| i64::try_from(v).map_err(|_| fail(format!("value {v} overflows"))))
                    .collect::<Result<_, _>>()?
            } else {
                check_len(proto.int32_data.len(), "int32 values")?;
                proto.int32_data.iter().map(|&v| i64::from(v)).collect()
            };
            Tensor::I64(array(&shape, data, &fail)?)
        }
        Elem::Bool => {
            let data: Vec<bool> = if raw.is_empty() {
                check_len(proto.int32_data.len(), "int32 values")?;
                proto.int32_data.iter().map(|&v| v != 0).collect()
            } else {
                check_len(raw.len(), "bytes")?;
                raw.iter().map(|&b| b != 0).collect()
            };
            Tensor::Bool(array(&shape, data, &fail)?)
        }
    };
    Ok(tensor)
}

fn exact(
    len: usize,
    width: usize,
    fail: &impl Fn(String) -> ImportError,
) -> Result<(), ImportError> {
    if len.is_multiple_of(width) {
        Ok(())
    } else {
        Err(fail(format!(
            "raw data of {len} bytes is not a whole number of {width}-byte elements"
        )))
    }
}

/// A little-endian integer of 1 to 8 bytes.
fn le_int(bytes: &[u8], signed: bool) -> i64 {
    let mut buf = [0u8; 8];
    buf[..bytes.len()].copy_from_slice(bytes);
    let negative = signed && bytes.last().is_some_and(|&b| b & 0x80 != 0);
    if negative {
        for b in &mut buf[bytes.len()..] {
            *b = 0xff;
        }
    }
    i64::from_le_bytes(buf)
}

fn array<T>(
    shape: &[usize],
    data: Vec<T>,
    fail: &impl Fn(String) -> ImportError,
) -> Result<ArrayD<T>, ImportError> {
    ArrayD::from_shape_vec(IxDyn(shape), data).map_err(|e| fail(e.to_string()))
}

/// The element type code and declared dimensions of a tensor type, or `None` when the type is
/// not a tensor type or has no shape (`Some((code, None))`).
pub(super) fn declared(ty: Option<&TypeProto>) -> Option<(i32, Option<Vec<Dim>>)> {
    let value = ty?.value.as_ref()?;
    match value {
        type_proto::Value::TensorType(t) => {
            let dims = t.shape.as_ref().map(|s| {
                s.dim
                    .iter()
                    .map(|d| {
                        use tract_onnx::pb::tensor_shape_proto::dimension::Value;
                        match &d.value {
                            Some(Value::DimValue(v)) => match usize::try_from(*v) {
                                Ok(v) => Dim::Fixed(v),
                                Err(_) => Dim::Symbolic(v.to_string()),
                            },
                            Some(Value::DimParam(p)) => Dim::Symbolic(p.clone()),
                            None => Dim::Symbolic(String::new()),
                        }
                    })
                    .collect()
            });
            Some((t.elem_type, dims))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proto(data_type: DataType, dims: &[i64]) -> TensorProto {
        TensorProto {
            data_type: data_type as i32,
            dims: dims.to_vec(),
            ..Default::default()
        }
    }

    fn decode(p: &TensorProto) -> Result<Tensor, ImportError> {
        tensor(p, &Limits::default(), "tensor \"t\"", &Location::Unknown)
    }

    #[test]
    fn reads_raw_little_endian_and_typed_fields() {
        let mut p = proto(DataType::Float, &[2]);
        p.raw_data = [1.5f32.to_le_bytes(), (-2.0f32).to_le_bytes()].concat();
        let t = decode(&p).unwrap();
        assert_eq!(
            t,
            Tensor::F32(ArrayD::from_shape_vec(IxDyn(&[2]), vec![1.5, -2.0]).unwrap())
        );

        let mut p = proto(DataType::Int8, &[3]);
        p.raw_data = vec![0xff, 0x7f, 0x80];
        let t = decode(&p).unwrap();
        assert_eq!(
            t,
            Tensor::I64(ArrayD::from_shape_vec(IxDyn(&[3]), vec![-1, 127, -128]).unwrap())
        );

        let mut p = proto(DataType::Uint16, &[1]);
        p.raw_data = vec![0xff, 0xff];
        assert_eq!(
            decode(&p).unwrap(),
            Tensor::I64(ArrayD::from_elem(IxDyn(&[1]), 65535))
        );

        let mut p = proto(DataType::Int32, &[2]);
        p.int32_data = vec![-7, 9];
        assert_eq!(
            decode(&p).unwrap(),
            Tensor::I64(ArrayD::from_shape_vec(IxDyn(&[2]), vec![-7, 9]).unwrap())
        );

        let mut p = proto(DataType::Bool, &[]);
        p.int32_data = vec![1];
        assert_eq!(
            decode(&p).unwrap(),
            Tensor::Bool(ArrayD::from_elem(IxDyn(&[]), true))
        );
    }

    #[test]
    fn refuses_bad_sizes_types_and_huge_tensors() {
        let mut p = proto(DataType::Float, &[3]);
        p.float_data = vec![1.0, 2.0];
        let e = decode(&p).unwrap_err();
        assert!(
            e.message
                .contains("holds 2 floats but its shape [3] needs 3"),
            "{}",
            e.message
        );

        let e = decode(&proto(DataType::Double, &[1])).unwrap_err();
        assert!(e.message.contains("DOUBLE"), "{}", e.message);
        assert!(e.message.starts_with("tensor \"t\""), "{}", e.message);

        let e = decode(&proto(DataType::Float, &[1 << 20, 1 << 20])).unwrap_err();
        assert!(e.message.contains("limit"), "{}", e.message);
        let e = decode(&proto(DataType::Float, &[i64::MAX, i64::MAX])).unwrap_err();
        assert!(e.message.contains("limit"), "{}", e.message);
        let e = decode(&proto(DataType::Float, &[-1])).unwrap_err();
        assert!(e.message.contains("negative dimension -1"), "{}", e.message);
    }
}
