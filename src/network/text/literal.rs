//! Literals of the text form: quoted names, tensor types and tensor data.

use ndarray::{ArrayD, IxDyn};
use pest::iterators::Pair;

use super::attrs::{parse_dtype, parse_f32};
use super::grammar::{error, significant, span_of, unexpected, Rule};
use super::TextError;
use crate::network::{DType, Tensor, TensorType};

/// The text of a `bare` or `quoted` name, escapes decoded.
pub(super) fn name_text(pair: &Pair<'_, Rule>) -> Result<String, TextError> {
    let text = pair.as_str();
    if pair.as_rule() == Rule::bare {
        return Ok(text.to_string());
    }
    let start = pair.as_span().start();
    let inner = text
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .ok_or_else(|| error(span_of(pair), "malformed quoted name"))?;
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.char_indices();
    while let Some((i, c)) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        // Offsets are relative to `inner`, which starts one byte after the opening quote.
        let at = start + 1 + i;
        let escape = chars.next().map(|(_, e)| e);
        match escape {
            Some('"') => out.push('"'),
            Some('\\') => out.push('\\'),
            Some('\'') => out.push('\''),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('t') => out.push('\t'),
            Some('0') => out.push('\0'),
            Some('u') => {
                let rest = &inner[i + 2..];
                let decoded = rest
                    .strip_prefix('{')
                    .and_then(|r| r.split_once('}'))
                    .filter(|(hex, _)| {
                        (1..=6).contains(&hex.len()) && hex.bytes().all(|b| b.is_ascii_hexdigit())
                    })
                    .and_then(|(hex, _)| u32::from_str_radix(hex, 16).ok().map(|v| (hex, v)))
                    .and_then(|(hex, v)| char::from_u32(v).map(|c| (hex, c)));
                let Some((hex, c)) = decoded else {
                    return Err(error(
                        at..at + 2,
                        "invalid unicode escape (expected `\\u{..}` with 1 to 6 hex digits of a \
                         valid character)",
                    ));
                };
                out.push(c);
                // Skip `{`, the digits and `}`.
                for _ in 0..hex.len() + 2 {
                    chars.next();
                }
            }
            Some(other) => {
                return Err(error(
                    at..at + 1 + other.len_utf8(),
                    format!("unknown escape `\\{}`", other.escape_debug()),
                ))
            }
            None => return Err(error(at..at + 1, "unfinished escape")),
        }
    }
    Ok(out)
}

/// Reads a `tensor_type` pair (`f32[1, 3]`).
pub(super) fn tensor_type(pair: Pair<'_, Rule>) -> Result<TensorType, TextError> {
    let mut inner = significant(pair.into_inner());
    let dtype = inner
        .next()
        .ok_or_else(|| error(0..0, "type without element type"))?;
    let Some(dtype_value) = parse_dtype(dtype.as_str()) else {
        return Err(error(
            span_of(&dtype),
            format!(
                "unknown element type `{}` (expected f32, i64 or bool)",
                dtype.as_str()
            ),
        ));
    };
    let shape = inner
        .map(|dim| {
            dim.as_str()
                .parse()
                .map_err(|_| error(span_of(&dim), "dimension is too large"))
        })
        .collect::<Result<_, _>>()?;
    Ok(TensorType {
        dtype: dtype_value,
        shape,
    })
}

/// Reads tensor data (a `list` or `scalar` pair) that must match `ty` exactly.
pub(super) fn tensor(data: Pair<'_, Rule>, ty: &TensorType) -> Result<Tensor, TextError> {
    let mut scalars = Vec::new();
    collect_scalars(data.clone(), ty, 0, &mut scalars)?;
    let element_error = |pair: &Pair<'_, Rule>, what: &str| {
        error(span_of(pair), format!("`{}` is not {what}", pair.as_str()))
    };
    Ok(match ty.dtype {
        DType::F32 => Tensor::F32(parse_array(&scalars, ty, &data, |p| {
            parse_f32(p.as_str()).ok_or_else(|| element_error(p, "an f32"))
        })?),
        DType::I64 => Tensor::I64(parse_array(&scalars, ty, &data, |p| {
            p.as_str().parse().map_err(|_| element_error(p, "an i64"))
        })?),
        DType::Bool => Tensor::Bool(parse_array(&scalars, ty, &data, |p| match p.as_str() {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err(element_error(p, "`true` or `false`")),
        })?),
    })
}

/// `scalars` parsed one by one with `parse` into an array of `ty`'s shape; `data` is where a
/// size error points.
fn parse_array<'i, T>(
    scalars: &[Pair<'i, Rule>],
    ty: &TensorType,
    data: &Pair<'i, Rule>,
    parse: impl Fn(&Pair<'i, Rule>) -> Result<T, TextError>,
) -> Result<ArrayD<T>, TextError> {
    let values = scalars.iter().map(parse).collect::<Result<Vec<_>, _>>()?;
    ArrayD::from_shape_vec(IxDyn(&ty.shape), values)
        .map_err(|_| error(span_of(data), "tensor is too large"))
}

/// Checks that `data` nests exactly as `ty.shape` from `axis` on, collecting its scalars in
/// row-major order.
fn collect_scalars<'i>(
    data: Pair<'i, Rule>,
    ty: &TensorType,
    axis: usize,
    out: &mut Vec<Pair<'i, Rule>>,
) -> Result<(), TextError> {
    let mismatch = |what: String| {
        error(
            span_of(&data),
            format!(
                "data does not match {}: {what}",
                super::print::type_text(ty)
            ),
        )
    };
    match (data.as_rule(), ty.shape.get(axis)) {
        (Rule::scalar, None) => {
            out.push(data);
            Ok(())
        }
        (Rule::scalar, Some(&n)) => Err(mismatch(format!(
            "expected a list of {n} elements along axis {axis}, found a single element"
        ))),
        (Rule::list, None) => Err(mismatch(format!(
            "expected a single element at depth {axis}, found a list"
        ))),
        (Rule::list, Some(&n)) => {
            let count = significant(data.clone().into_inner()).count();
            if count != n {
                return Err(mismatch(format!(
                    "expected {n} elements along axis {axis}, found {count}"
                )));
            }
            for item in significant(data.into_inner()) {
                collect_scalars(item, ty, axis + 1, out)?;
            }
            Ok(())
        }
        (other, _) => Err(unexpected(&data, other)),
    }
}
