//! Attribute lists of the text form (`{axis = 1, perm = [0, 2, 1]}`) and their typed getters.
//!
//! Every getter consumes the attribute it reads, so that [`Attrs::finish`] can reject the ones left
//! over; errors name the attribute and its owner and point at the offending text.

use std::collections::BTreeMap;
use std::ops::Range;

use pest::iterators::Pair;

use super::grammar::{error, significant, span_of, Rule};
use super::TextError;
use crate::network::{Activation, DType, Direction, TimeDirection};

/// The value of one attribute, as written.
#[derive(Debug, Clone)]
pub(super) enum AttrValue<'i> {
    /// A number, `true` or `false`.
    Scalar(&'i str),
    /// A bare identifier (`forward`, `f32`, `none`, `Tanh`).
    Word(&'i str),
    List(Vec<Attr<'i>>),
    /// `Name(key = value, ..)`, as an activation with parameters.
    Call(&'i str, Attrs<'i>),
    /// `graph { .. }`: the `graph_body` pair, parsed on demand.
    Graph(Pair<'i, Rule>),
}

/// An attribute value with its source text and span.
#[derive(Debug, Clone)]
pub(super) struct Attr<'i> {
    pub value: AttrValue<'i>,
    pub text: &'i str,
    pub span: Range<usize>,
}

/// The attributes of one op (or call, or header), by name.
#[derive(Debug, Clone)]
pub(super) struct Attrs<'i> {
    /// What the attributes belong to, for messages (`Concat`, `activation Affine`).
    owner: String,
    /// The whole list (or the op name when there is none), for "missing" errors.
    span: Range<usize>,
    /// Name to (span of the name, value).
    entries: BTreeMap<&'i str, (Range<usize>, Attr<'i>)>,
}

impl<'i> Attrs<'i> {
    /// An empty list, for an op written without braces; `span` is where "missing" errors point.
    pub(super) fn empty(owner: impl Into<String>, span: Range<usize>) -> Self {
        Attrs {
            owner: owner.into(),
            span,
            entries: BTreeMap::new(),
        }
    }

    /// Reads the `attr` pairs inside an `attr_block` or `call`; errors on a name given twice.
    pub(super) fn from_pairs(
        owner: impl Into<String>,
        span: Range<usize>,
        pairs: impl Iterator<Item = Pair<'i, Rule>>,
    ) -> Result<Self, TextError> {
        let mut attrs = Attrs::empty(owner, span);
        for pair in pairs {
            let pair_span = span_of(&pair);
            let mut inner = significant(pair.into_inner());
            let (Some(key), Some(value)) = (inner.next(), inner.next()) else {
                return Err(error(pair_span, "malformed attribute"));
            };
            let key_span = span_of(&key);
            let value = attr_value(value)?;
            if attrs
                .entries
                .insert(key.as_str(), (key_span.clone(), value))
                .is_some()
            {
                return Err(error(
                    key_span,
                    format!(
                        "attribute `{}` of {} is given twice",
                        key.as_str(),
                        attrs.owner
                    ),
                ));
            }
        }
        Ok(attrs)
    }

    /// Removes and returns attribute `key`; an error if it is absent.
    pub(super) fn take(&mut self, key: &str) -> Result<Attr<'i>, TextError> {
        match self.entries.remove(key) {
            Some((_, attr)) => Ok(attr),
            None => Err(error(
                self.span.clone(),
                format!("{} is missing attribute `{key}`", self.owner),
            )),
        }
    }

    /// Errors on the first attribute (by name) that no getter consumed.
    pub(super) fn finish(self) -> Result<(), TextError> {
        match self.entries.into_iter().next() {
            Some((key, (span, _))) => Err(error(
                span,
                format!("unknown attribute `{key}` for {}", self.owner),
            )),
            None => Ok(()),
        }
    }

    fn wrong_kind(&self, key: &str, expected: &str, attr: &Attr<'_>) -> TextError {
        let mut found: String = attr.text.chars().take(40).collect();
        if found.len() < attr.text.len() {
            found.push_str("...");
        }
        error(
            attr.span.clone(),
            format!(
                "attribute `{key}` of {} must be {expected}, found `{found}`",
                self.owner
            ),
        )
    }

    /// Takes attribute `key` and converts it with `convert`, which returns `None` when the value
    /// is not of the kind described by `expected`.
    fn get<T>(
        &mut self,
        key: &str,
        expected: &str,
        convert: impl Fn(&Attr<'i>) -> Option<T>,
    ) -> Result<T, TextError> {
        let attr = self.take(key)?;
        convert(&attr).ok_or_else(|| self.wrong_kind(key, expected, &attr))
    }

    pub(super) fn usize(&mut self, key: &str) -> Result<usize, TextError> {
        self.get(key, "a non-negative integer", as_usize)
    }

    pub(super) fn bool(&mut self, key: &str) -> Result<bool, TextError> {
        self.get(key, "`true` or `false`", as_bool)
    }

    pub(super) fn f32(&mut self, key: &str) -> Result<f32, TextError> {
        self.get(key, "a number", as_f32)
    }

    /// A number, or `none` for an absent value.
    pub(super) fn opt_f32(&mut self, key: &str) -> Result<Option<f32>, TextError> {
        self.get(key, "a number or `none`", |attr| match attr.value {
            AttrValue::Word("none") => Some(None),
            _ => as_f32(attr).map(Some),
        })
    }

    pub(super) fn dtype(&mut self, key: &str) -> Result<DType, TextError> {
        self.get(
            key,
            "an element type (`f32`, `i64` or `bool`)",
            |attr| match attr.value {
                AttrValue::Word(word) => parse_dtype(word),
                _ => None,
            },
        )
    }

    pub(super) fn direction(&mut self, key: &str) -> Result<Direction, TextError> {
        self.get(
            key,
            "`forward`, `reverse` or `bidirectional`",
            |attr| match attr.value {
                AttrValue::Word("forward") => Some(Direction::Forward),
                AttrValue::Word("reverse") => Some(Direction::Reverse),
                AttrValue::Word("bidirectional") => Some(Direction::Bidirectional),
                _ => None,
            },
        )
    }

    pub(super) fn time_direction(&mut self, key: &str) -> Result<TimeDirection, TextError> {
        self.get(key, "`forward` or `reverse`", |attr| match attr.value {
            AttrValue::Word("forward") => Some(TimeDirection::Forward),
            AttrValue::Word("reverse") => Some(TimeDirection::Reverse),
            _ => None,
        })
    }

    pub(super) fn usize_list(&mut self, key: &str) -> Result<Vec<usize>, TextError> {
        self.get(key, "a list of non-negative integers", |attr| {
            list_of(attr, as_usize)
        })
    }

    pub(super) fn i64_list(&mut self, key: &str) -> Result<Vec<i64>, TextError> {
        self.get(key, "a list of integers", |attr| list_of(attr, as_i64))
    }

    pub(super) fn bool_list(&mut self, key: &str) -> Result<Vec<bool>, TextError> {
        self.get(key, "a list of `true`/`false`", |attr| {
            list_of(attr, as_bool)
        })
    }

    /// The `graph_body` pair of a `graph { .. }` attribute.
    pub(super) fn graph(&mut self, key: &str) -> Result<Pair<'i, Rule>, TextError> {
        self.get(key, "a graph (`graph { .. }`)", |attr| match &attr.value {
            AttrValue::Graph(pair) => Some(pair.clone()),
            _ => None,
        })
    }

    /// A list of activations: `Tanh`, `LeakyRelu(alpha = 0.01)`, `Affine(alpha = 1.0, beta = 0.0)`.
    pub(super) fn activations(&mut self, key: &str) -> Result<Vec<Activation>, TextError> {
        let attr = self.take(key)?;
        let AttrValue::List(items) = attr.value else {
            return Err(self.wrong_kind(key, "a list of activations", &attr));
        };
        items.into_iter().map(activation).collect()
    }
}

fn activation(attr: Attr<'_>) -> Result<Activation, TextError> {
    let (name, mut params) = match attr.value {
        AttrValue::Word(name) => (
            name,
            Attrs::empty(format!("activation {name}"), attr.span.clone()),
        ),
        AttrValue::Call(name, params) => (name, params),
        AttrValue::Scalar(_) | AttrValue::List(_) | AttrValue::Graph(_) => {
            return Err(error(
                attr.span,
                format!("expected an activation, found `{}`", attr.text),
            ))
        }
    };
    let activation = match name {
        "Relu" => Activation::Relu,
        "Tanh" => Activation::Tanh,
        "Sigmoid" => Activation::Sigmoid,
        "Affine" => Activation::Affine {
            alpha: params.f32("alpha")?,
            beta: params.f32("beta")?,
        },
        "LeakyRelu" => Activation::LeakyRelu {
            alpha: params.f32("alpha")?,
        },
        "ThresholdedRelu" => Activation::ThresholdedRelu {
            alpha: params.f32("alpha")?,
        },
        "ScaledTanh" => Activation::ScaledTanh {
            alpha: params.f32("alpha")?,
            beta: params.f32("beta")?,
        },
        "HardSigmoid" => Activation::HardSigmoid {
            alpha: params.f32("alpha")?,
            beta: params.f32("beta")?,
        },
        "Elu" => Activation::Elu {
            alpha: params.f32("alpha")?,
        },
        "Softsign" => Activation::Softsign,
        "Softplus" => Activation::Softplus,
        other => return Err(error(attr.span, format!("unknown activation `{other}`"))),
    };
    params.finish()?;
    Ok(activation)
}

/// Reads one `attr_value` pair.
fn attr_value(pair: Pair<'_, Rule>) -> Result<Attr<'_>, TextError> {
    let span = span_of(&pair);
    let text = pair.as_str();
    let value = match pair.as_rule() {
        Rule::scalar => AttrValue::Scalar(text),
        Rule::word => AttrValue::Word(text),
        Rule::attr_list => AttrValue::List(
            significant(pair.into_inner())
                .map(attr_value)
                .collect::<Result<_, _>>()?,
        ),
        Rule::call => {
            let mut inner = significant(pair.into_inner());
            let Some(name) = inner.next() else {
                return Err(error(span, "malformed call"));
            };
            let owner = format!("activation {}", name.as_str());
            AttrValue::Call(
                name.as_str(),
                Attrs::from_pairs(owner, span.clone(), inner)?,
            )
        }
        Rule::graph_attr => match pair.into_inner().find(|p| p.as_rule() == Rule::graph_body) {
            Some(body) => AttrValue::Graph(body),
            None => return Err(error(span, "malformed graph attribute")),
        },
        other => return Err(error(span, format!("unexpected {other:?} in an attribute"))),
    };
    Ok(Attr { value, text, span })
}

/// Parses an element type name.
pub(super) fn parse_dtype(word: &str) -> Option<DType> {
    match word {
        "f32" => Some(DType::F32),
        "i64" => Some(DType::I64),
        "bool" => Some(DType::Bool),
        _ => None,
    }
}

/// Parses an `f32` literal of the text form (`1.5`, `-1e-7`, `3`, `inf`, `-inf`, `nan`).
pub(super) fn parse_f32(text: &str) -> Option<f32> {
    match text {
        "inf" => Some(f32::INFINITY),
        "-inf" => Some(f32::NEG_INFINITY),
        "nan" | "-nan" => Some(f32::NAN),
        // Only digits, sign, point and exponent reach here: the grammar's `number` rule admits
        // nothing else, so Rust's parser (which also reads `infinity`) sees no other spellings.
        _ if text
            .bytes()
            .next()
            .is_some_and(|b| b == b'-' || b.is_ascii_digit()) =>
        {
            text.parse().ok()
        }
        _ => None,
    }
}

fn as_usize(attr: &Attr<'_>) -> Option<usize> {
    match attr.value {
        AttrValue::Scalar(text) => text.parse().ok(),
        _ => None,
    }
}

fn as_i64(attr: &Attr<'_>) -> Option<i64> {
    match attr.value {
        AttrValue::Scalar(text) => text.parse().ok(),
        _ => None,
    }
}

fn as_f32(attr: &Attr<'_>) -> Option<f32> {
    match attr.value {
        AttrValue::Scalar(text) => parse_f32(text),
        _ => None,
    }
}

fn as_bool(attr: &Attr<'_>) -> Option<bool> {
    match attr.value {
        AttrValue::Scalar("true") => Some(true),
        AttrValue::Scalar("false") => Some(false),
        _ => None,
    }
}

fn list_of<'i, T>(attr: &Attr<'i>, item: impl Fn(&Attr<'i>) -> Option<T>) -> Option<Vec<T>> {
    match &attr.value {
        AttrValue::List(items) => items.iter().map(item).collect(),
        _ => None,
    }
}
