//! Typed access to the attributes of an ONNX node, with errors located at the node.

use tract_onnx::pb::attribute_proto::AttributeType;
use tract_onnx::pb::{AttributeProto, GraphProto, NodeProto, TensorProto};

use super::ImportError;
use crate::diag::{Location, NodeRef};
use crate::network::ValueId;

/// An ONNX node under import, with the opset it is read under.
#[derive(Clone, Copy)]
pub(super) struct NodeCx<'a> {
    pub node: &'a NodeProto,
    /// The default-domain opset version of the model.
    pub opset: i64,
}

impl<'a> NodeCx<'a> {
    /// The location of this node in diagnostics.
    pub fn location(&self) -> Location {
        Location::Node(NodeRef {
            name: self.node.name.clone(),
            op_type: self.node.op_type.clone(),
        })
    }

    /// An error located at this node.
    pub fn error(&self, message: impl Into<String>) -> ImportError {
        ImportError {
            message: message.into(),
            location: self.location(),
        }
    }

    /// Operand `i` of the node, which must be present.
    pub fn operand(&self, inputs: &[Option<ValueId>], i: usize) -> Result<ValueId, ImportError> {
        inputs
            .get(i)
            .copied()
            .flatten()
            .ok_or_else(|| self.error(format!("{} is missing its input {i}", self.op())))
    }

    /// The op type, escaped for messages.
    pub fn op(&self) -> String {
        self.node.op_type.escape_debug().to_string()
    }

    fn find(&self, name: &str) -> Option<&'a AttributeProto> {
        self.node.attribute.iter().find(|a| a.name == name)
    }

    /// The attribute `name` when present, checked to be of type `want`.
    fn typed(
        &self,
        name: &str,
        want: AttributeType,
    ) -> Result<Option<&'a AttributeProto>, ImportError> {
        let Some(attr) = self.find(name) else {
            return Ok(None);
        };
        // Files from IR version 1 leave the type field unset; their payload field decides.
        if attr.r#type == want as i32 || attr.r#type == AttributeType::Undefined as i32 {
            return Ok(Some(attr));
        }
        let found = AttributeType::try_from(attr.r#type)
            .map(|t| t.as_str_name().to_string())
            .unwrap_or_else(|_| format!("type {}", attr.r#type));
        Err(self.error(format!(
            "attribute '{name}' of {} must be {}, found {found}",
            self.op(),
            want.as_str_name()
        )))
    }

    /// An integer attribute, if present.
    pub fn int(&self, name: &str) -> Result<Option<i64>, ImportError> {
        Ok(self.typed(name, AttributeType::Int)?.map(|a| a.i))
    }

    /// An integer attribute, or `default` when absent.
    pub fn int_or(&self, name: &str, default: i64) -> Result<i64, ImportError> {
        Ok(self.int(name)?.unwrap_or(default))
    }

    /// A required integer attribute.
    pub fn int_req(&self, name: &str) -> Result<i64, ImportError> {
        self.int(name)?.ok_or_else(|| self.missing(name))
    }

    /// A 0/1 integer attribute read as a flag, or `default` when absent.
    pub fn flag_or(&self, name: &str, default: bool) -> Result<bool, ImportError> {
        match self.int(name)? {
            None => Ok(default),
            Some(0) => Ok(false),
            Some(1) => Ok(true),
            Some(v) => Err(self.error(format!(
                "attribute '{name}' of {} must be 0 or 1, found {v}",
                self.op()
            ))),
        }
    }

    /// A float attribute, or `default` when absent.
    pub fn float_or(&self, name: &str, default: f32) -> Result<f32, ImportError> {
        Ok(self.float(name)?.unwrap_or(default))
    }

    /// A float attribute, if present.
    pub fn float(&self, name: &str) -> Result<Option<f32>, ImportError> {
        Ok(self.typed(name, AttributeType::Float)?.map(|a| a.f))
    }

    /// An integer-list attribute, if present.
    pub fn ints(&self, name: &str) -> Result<Option<&'a [i64]>, ImportError> {
        Ok(self
            .typed(name, AttributeType::Ints)?
            .map(|a| a.ints.as_slice()))
    }

    /// A float-list attribute, if present.
    pub fn floats(&self, name: &str) -> Result<Option<&'a [f32]>, ImportError> {
        Ok(self
            .typed(name, AttributeType::Floats)?
            .map(|a| a.floats.as_slice()))
    }

    /// A UTF-8 string attribute, if present.
    pub fn string(&self, name: &str) -> Result<Option<String>, ImportError> {
        match self.typed(name, AttributeType::String)? {
            None => Ok(None),
            Some(a) => self.utf8(name, &a.s).map(Some),
        }
    }

    /// A list-of-strings attribute, if present.
    pub fn strings(&self, name: &str) -> Result<Option<Vec<String>>, ImportError> {
        match self.typed(name, AttributeType::Strings)? {
            None => Ok(None),
            Some(a) => a
                .strings
                .iter()
                .map(|s| self.utf8(name, s))
                .collect::<Result<_, _>>()
                .map(Some),
        }
    }

    /// A tensor attribute, if present.
    pub fn tensor(&self, name: &str) -> Result<Option<&'a TensorProto>, ImportError> {
        match self.typed(name, AttributeType::Tensor)? {
            None => Ok(None),
            Some(a) => a.t.as_ref().map(Some).ok_or_else(|| self.missing(name)),
        }
    }

    /// A required graph attribute.
    pub fn graph_req(&self, name: &str) -> Result<&'a GraphProto, ImportError> {
        self.typed(name, AttributeType::Graph)?
            .and_then(|a| a.g.as_ref())
            .ok_or_else(|| self.missing(name))
    }

    /// True when the node carries attribute `name`.
    pub fn has(&self, name: &str) -> bool {
        self.find(name).is_some()
    }

    /// The names of the attributes the node carries.
    pub fn names(&self) -> impl Iterator<Item = &'a str> {
        self.node.attribute.iter().map(|a| a.name.as_str())
    }

    fn utf8(&self, name: &str, bytes: &[u8]) -> Result<String, ImportError> {
        String::from_utf8(bytes.to_vec()).map_err(|_| {
            self.error(format!(
                "attribute '{name}' of {} is not valid UTF-8",
                self.op()
            ))
        })
    }

    fn missing(&self, name: &str) -> ImportError {
        self.error(format!("{} needs the attribute '{name}'", self.op()))
    }

    /// Makes `axis` non-negative for a tensor of rank `rank`, or an error naming `what`.
    pub fn axis(&self, axis: i64, rank: usize, what: &str) -> Result<usize, ImportError> {
        normalise_axis(axis, rank).ok_or_else(|| {
            self.error(format!(
                "{what} {axis} of {} is out of range for rank {rank}",
                self.op()
            ))
        })
    }
}

/// `axis` made non-negative for rank `rank`, or `None` when outside `[-rank, rank)`.
pub(super) fn normalise_axis(axis: i64, rank: usize) -> Option<usize> {
    let rank = i64::try_from(rank).ok()?;
    let axis = if axis < 0 {
        axis.checked_add(rank)?
    } else {
        axis
    };
    if (0..rank).contains(&axis) {
        usize::try_from(axis).ok()
    } else {
        None
    }
}
