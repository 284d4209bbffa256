//! The network text grammar (`grammar/network.pest`) and helpers over its parse tree: spans,
//! errors located at a pair, and rules named in words for messages.

use std::ops::Range;

use pest::iterators::{Pair, Pairs};

use super::TextError;

/// The pest parser of the text form; its rules are [`Rule`].
#[derive(pest_derive::Parser)]
#[grammar = "../grammar/network.pest"]
pub(super) struct NetworkParser;

/// A [`TextError`] at `span`.
pub(super) fn error(span: Range<usize>, message: impl Into<String>) -> TextError {
    TextError {
        message: message.into(),
        span,
    }
}

/// The span of a pair as a byte range.
pub(super) fn span_of(pair: &Pair<'_, Rule>) -> Range<usize> {
    let span = pair.as_span();
    span.start()..span.end()
}

/// The pairs of an iterator without keyword and punctuation tokens.
pub(super) fn significant<'i>(pairs: Pairs<'i, Rule>) -> impl Iterator<Item = Pair<'i, Rule>> {
    pairs.filter(|p| {
        !matches!(
            p.as_rule(),
            Rule::kw_network
                | Rule::kw_pointwise
                | Rule::kw_sequence
                | Rule::kw_graph
                | Rule::kw_cell
                | Rule::kw_init
                | Rule::kw_input
                | Rule::kw_const
                | Rule::kw_output
                | Rule::colon
                | Rule::eq
                | Rule::comma
                | Rule::lparen
                | Rule::rparen
                | Rule::lbrace
                | Rule::rbrace
                | Rule::lbracket
                | Rule::rbracket
                | Rule::EOI
        )
    })
}

/// The first inner pair of `pair` with rule `rule`.
pub(super) fn child<'i>(pair: &Pair<'i, Rule>, rule: Rule) -> Result<Pair<'i, Rule>, TextError> {
    pair.clone()
        .into_inner()
        .find(|p| p.as_rule() == rule)
        .ok_or_else(|| error(span_of(pair), format!("expected {}", describe(&rule))))
}

/// An error for a pair the grammar should not have produced here.
pub(super) fn unexpected(pair: &Pair<'_, Rule>, rule: Rule) -> TextError {
    error(span_of(pair), format!("unexpected {}", describe(&rule)))
}

/// Converts a pest error, naming rules in words.
pub(super) fn syntax_error(e: pest::error::Error<Rule>) -> TextError {
    let span = match e.location {
        pest::error::InputLocation::Pos(p) => p..p,
        pest::error::InputLocation::Span((s, t)) => s..t,
    };
    let e = e.renamed_rules(describe);
    error(span, format!("syntax error: {}", e.variant.message()))
}

/// A grammar rule in words, for messages.
fn describe(rule: &Rule) -> String {
    match rule {
        Rule::EOI => "end of input",
        Rule::file | Rule::network | Rule::kw_network => "`network`",
        Rule::pointwise | Rule::kw_pointwise => "`pointwise`",
        Rule::sequence | Rule::kw_sequence => "`sequence`",
        Rule::kw_graph | Rule::graph_attr => "`graph`",
        Rule::kw_cell => "`cell`",
        Rule::init | Rule::kw_init => "`init`",
        Rule::kw_input | Rule::input_decl => "`input`",
        Rule::kw_const | Rule::const_decl => "`const`",
        Rule::kw_output | Rule::output_decl => "`output`",
        Rule::graph_body => "a graph body `{ .. }`",
        Rule::node_decl | Rule::results | Rule::result => "a node `%y: T = Op(..)`",
        Rule::operands | Rule::operand => "an operand",
        Rule::absent => "`_`",
        Rule::value => "a value `%name`",
        Rule::node_name => "a node name `@name`",
        Rule::bare | Rule::quoted | Rule::name => "a name",
        Rule::ordinal => "an ordinal",
        Rule::tensor_type => "a type such as `f32[1, 3]`",
        Rule::dim => "a dimension",
        Rule::list | Rule::data => "data `[..]`",
        Rule::scalar | Rule::number => "a number, `true` or `false`",
        Rule::attr_block => "attributes `{..}`",
        Rule::attr => "an attribute `name = value`",
        Rule::call => "an activation",
        Rule::attr_list => "a list",
        Rule::attr_value => "an attribute value",
        Rule::word | Rule::ident => "an identifier",
        Rule::colon => "`:`",
        Rule::eq => "`=`",
        Rule::comma => "`,`",
        Rule::lparen => "`(`",
        Rule::rparen => "`)`",
        Rule::lbrace => "`{`",
        Rule::rbrace => "`}`",
        Rule::lbracket => "`[`",
        Rule::rbracket => "`]`",
        Rule::WHITESPACE | Rule::COMMENT | Rule::ident_char => "a character",
    }
    .to_string()
}
