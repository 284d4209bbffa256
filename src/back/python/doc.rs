//! A layout document (text, line breaks, groups) and its printer.
//!
//! This is the subset of `ruff_formatter`'s IR and printer that the Python writer needs, with the
//! same semantics, so that laying out a statement here gives the text `ruff format` gives:
//! a group is printed flat when it and the rest of its line fit in [`LINE_WIDTH`], otherwise its
//! line breaks are taken; conditional content and conditional groups depend on the mode another
//! group was printed in; `fits expanded` content is measured with its breaks taken.

/// The line width `ruff format` uses by default.
pub(crate) const LINE_WIDTH: usize = 88;

/// Spaces per indentation level.
pub(crate) const INDENT_WIDTH: usize = 4;

/// Handle of a group whose print mode other elements may depend on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct GroupId(usize);

/// Whether a group's line breaks are taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Flat,
    Expanded,
}

/// A test of the mode of a group: the named one, or the enclosing one when `group` is `None`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Condition {
    pub mode: Mode,
    pub group: Option<GroupId>,
}

/// Kinds of line break.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Line {
    /// Nothing when flat, a newline when expanded.
    Soft,
    /// A space when flat, a newline when expanded.
    SoftOrSpace,
}

/// One element of a document. Start and end tags nest.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Element {
    /// Text without newlines (ASCII, so its width is its length).
    Text(String),
    Line(Line),
    /// Forces the enclosing group to expand (a magic trailing comma).
    ExpandParent,
    StartGroup {
        id: Option<GroupId>,
        expand: bool,
    },
    EndGroup,
    /// A group only while `condition` holds; plain content otherwise.
    StartConditionalGroup {
        condition: Condition,
        expand: bool,
    },
    EndConditionalGroup,
    /// Content printed only while `condition` holds.
    StartConditionalContent(Condition),
    EndConditionalContent,
    StartIndent,
    EndIndent,
    StartIndentIfGroupBreaks(GroupId),
    EndIndentIfGroupBreaks,
    /// Content measured with its breaks taken when the enclosing group is measured flat and
    /// `condition` holds.
    StartFitsExpanded {
        condition: Option<Condition>,
        propagate: bool,
    },
    EndFitsExpanded,
}

/// A document under construction.
#[derive(Debug, Default)]
pub(crate) struct Doc {
    elements: Vec<Element>,
    groups: usize,
    indent: usize,
}

impl Doc {
    /// A fresh group handle.
    pub(crate) fn group_id(&mut self) -> GroupId {
        self.groups += 1;
        GroupId(self.groups - 1)
    }

    /// Sets the indentation level the document starts at (and returns to).
    pub(crate) fn set_indent(&mut self, indent: usize) {
        self.indent = indent;
    }

    /// Appends an element.
    pub(crate) fn push(&mut self, element: Element) {
        self.elements.push(element);
    }

    /// Appends text (no newlines).
    pub(crate) fn text(&mut self, text: &str) {
        self.elements.push(Element::Text(text.to_string()));
    }

    /// Appends a line break.
    pub(crate) fn line(&mut self, line: Line) {
        self.elements.push(Element::Line(line));
    }

    /// Prints the document.
    pub(crate) fn print(mut self) -> String {
        propagate_expands(&mut self.elements);
        Printer::new(&self.elements, self.groups).print(self.indent)
    }
}

/// Marks every group that contains a hard break (directly or through an expanded child) as
/// expanded, stopping at `fits expanded` boundaries, as `ruff_formatter` does.
fn propagate_expands(elements: &mut [Element]) {
    let mut enclosing: Vec<usize> = Vec::new();
    for index in 0..elements.len() {
        let expands = match &elements[index] {
            Element::StartGroup { .. }
            | Element::StartConditionalGroup { .. }
            | Element::StartFitsExpanded { .. } => {
                enclosing.push(index);
                false
            }
            Element::EndGroup | Element::EndConditionalGroup => match enclosing.pop() {
                Some(start) => matches!(
                    elements[start],
                    Element::StartGroup { expand: true, .. }
                        | Element::StartConditionalGroup { expand: true, .. }
                ),
                None => false,
            },
            Element::EndFitsExpanded => {
                enclosing.pop();
                false
            }
            Element::ExpandParent => true,
            Element::Text(_)
            | Element::Line(_)
            | Element::StartConditionalContent(_)
            | Element::EndConditionalContent
            | Element::StartIndent
            | Element::EndIndent
            | Element::StartIndentIfGroupBreaks(_)
            | Element::EndIndentIfGroupBreaks => false,
        };
        if expands {
            if let Some(&start) = enclosing.last() {
                match &mut elements[start] {
                    Element::StartGroup { expand, .. }
                    | Element::StartConditionalGroup { expand, .. } => *expand = true,
                    Element::StartFitsExpanded { propagate, .. } => *propagate = true,
                    _ => {}
                }
            }
        }
    }
}

/// How line breaks in expanded mode end a measurement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Measure {
    /// The first expanded line break ends the measurement: it fits.
    FirstLine,
    /// Measure every line, allowing text past the line width.
    AllLinesAllowOverflow,
}

/// The state a stack frame gives the elements inside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Frame {
    indent: usize,
    mode: Mode,
    measure: Measure,
}

impl Frame {
    fn with_mode(self, mode: Mode) -> Frame {
        Frame { mode, ..self }
    }

    fn indented(self) -> Frame {
        Frame {
            indent: self.indent + 1,
            ..self
        }
    }
}

struct Printer<'a> {
    elements: &'a [Element],
    /// For each start tag, the index of its end tag.
    ends: Vec<usize>,
    modes: Vec<Option<Mode>>,
    out: String,
    line_start: usize,
    line_width: usize,
    pending_indent: Option<usize>,
    measured_group_fits: bool,
}

impl<'a> Printer<'a> {
    fn new(elements: &'a [Element], groups: usize) -> Self {
        let mut ends = vec![elements.len(); elements.len()];
        let mut open = Vec::new();
        for (index, element) in elements.iter().enumerate() {
            if is_start(element) {
                open.push(index);
            } else if is_end(element) {
                if let Some(start) = open.pop() {
                    ends[start] = index;
                }
            }
        }
        Printer {
            elements,
            ends,
            modes: vec![None; groups],
            out: String::new(),
            line_start: 0,
            line_width: 0,
            pending_indent: None,
            measured_group_fits: false,
        }
    }

    fn mode_of(&self, condition: Condition, frame: Frame) -> Mode {
        match condition.group {
            // A group not yet printed or measured counts as flat.
            Some(GroupId(id)) => self.modes.get(id).copied().flatten().unwrap_or(Mode::Flat),
            None => frame.mode,
        }
    }

    /// Where the walk goes on from the `StartConditionalContent(condition)` at `index`: into
    /// the content (its frame pushed) when the condition holds, else to the end tag.
    fn enter_conditional_content(
        &self,
        condition: Condition,
        index: usize,
        frame: Frame,
        stack: &mut Vec<Frame>,
    ) -> usize {
        if self.mode_of(condition, frame) == condition.mode {
            stack.push(frame);
            index
        } else {
            self.ends[index]
        }
    }

    /// The frame inside `StartIndentIfGroupBreaks(id)`: one level deeper when group `id` is
    /// expanded.
    fn indent_if_group_breaks(&self, id: GroupId, frame: Frame) -> Frame {
        let condition = Condition {
            mode: Mode::Expanded,
            group: Some(id),
        };
        if self.mode_of(condition, frame) == Mode::Expanded {
            frame.indented()
        } else {
            frame
        }
    }

    fn set_mode(&mut self, id: GroupId, mode: Mode) {
        if let Some(slot) = self.modes.get_mut(id.0) {
            *slot = Some(mode);
        }
    }

    fn print(mut self, indent: usize) -> String {
        self.pending_indent = Some(indent);
        let root = Frame {
            indent,
            mode: Mode::Expanded,
            measure: Measure::FirstLine,
        };
        let mut stack = vec![root];
        let mut index = 0;
        while index < self.elements.len() {
            let frame = stack.last().copied().unwrap_or(root);
            match &self.elements[index] {
                Element::Text(text) => self.print_text(text),
                Element::Line(line) => {
                    if frame.mode == Mode::Flat {
                        if *line == Line::SoftOrSpace {
                            self.print_text(" ");
                        }
                    } else {
                        if self.out.len() > self.line_start {
                            self.newline();
                        }
                        self.pending_indent = Some(frame.indent);
                    }
                }
                Element::ExpandParent => {}
                Element::StartGroup { id, expand } => {
                    let mode = if *expand {
                        Mode::Expanded
                    } else {
                        self.flat_group_mode(index, *id, frame, &mut stack)
                    };
                    if let Some(id) = id {
                        self.set_mode(*id, mode);
                    }
                    stack.push(frame.with_mode(mode));
                }
                Element::StartConditionalGroup { condition, expand } => {
                    if self.mode_of(*condition, frame) == condition.mode {
                        let mode = if *expand {
                            Mode::Expanded
                        } else {
                            self.flat_group_mode(index, None, frame, &mut stack)
                        };
                        stack.push(frame.with_mode(mode));
                    } else {
                        stack.push(frame);
                    }
                }
                Element::StartConditionalContent(condition) => {
                    index = self.enter_conditional_content(*condition, index, frame, &mut stack);
                }
                Element::StartIndent => stack.push(frame.indented()),
                Element::StartIndentIfGroupBreaks(id) => {
                    stack.push(self.indent_if_group_breaks(*id, frame));
                }
                Element::StartFitsExpanded { condition, .. } => {
                    let met = condition.is_none_or(|c| self.mode_of(c, frame) == c.mode);
                    if met {
                        // Inner groups were measured expanded; they must be measured again.
                        self.measured_group_fits = false;
                    }
                    stack.push(frame);
                }
                Element::EndGroup
                | Element::EndConditionalGroup
                | Element::EndConditionalContent
                | Element::EndIndent
                | Element::EndIndentIfGroupBreaks
                | Element::EndFitsExpanded => {
                    if stack.len() > 1 {
                        stack.pop();
                    }
                }
            }
            index += 1;
        }
        if !self.out.ends_with('\n') {
            self.out.push('\n');
        }
        self.out
    }

    fn flat_group_mode(
        &mut self,
        index: usize,
        id: Option<GroupId>,
        frame: Frame,
        stack: &mut Vec<Frame>,
    ) -> Mode {
        if frame.mode == Mode::Flat && self.measured_group_fits {
            return Mode::Flat;
        }
        self.measured_group_fits = true;
        if let Some(id) = id {
            self.set_mode(id, Mode::Flat);
        }
        stack.push(frame.with_mode(Mode::Flat));
        let fits = self.fits(index + 1, stack);
        stack.pop();
        if fits {
            Mode::Flat
        } else {
            Mode::Expanded
        }
    }

    fn print_text(&mut self, text: &str) {
        if let Some(indent) = self.pending_indent.take() {
            let width = indent * INDENT_WIDTH;
            self.out.extend(std::iter::repeat_n(' ', width));
            self.line_width += width;
        }
        self.out.push_str(text);
        self.line_width += text.len();
    }

    fn newline(&mut self) {
        self.out.push('\n');
        self.line_start = self.out.len();
        self.line_width = 0;
        self.measured_group_fits = false;
    }

    /// Whether the elements from `start` on, up to the first line break that is taken, fit in
    /// the rest of the line, with the frames of `stack` around them.
    fn fits(&mut self, start: usize, stack: &[Frame]) -> bool {
        let mut stack = stack.to_vec();
        let mut width = self.line_width;
        let mut pending = self.pending_indent;
        let mut index = start;
        while index < self.elements.len() {
            let Some(frame) = stack.last().copied() else {
                return true;
            };
            let mut add_text = |text_width: usize, width: &mut usize| {
                if let Some(indent) = pending.take() {
                    *width += indent * INDENT_WIDTH;
                }
                *width += text_width;
                *width <= LINE_WIDTH || frame.measure == Measure::AllLinesAllowOverflow
            };
            match &self.elements[index] {
                Element::Text(text) => {
                    if !add_text(text.len(), &mut width) {
                        return false;
                    }
                }
                Element::Line(line) => match (frame.mode, line) {
                    (Mode::Flat, Line::SoftOrSpace) => {
                        if !add_text(1, &mut width) {
                            return false;
                        }
                    }
                    (Mode::Flat, Line::Soft) => {}
                    (Mode::Expanded, _) => match frame.measure {
                        Measure::FirstLine => return true,
                        Measure::AllLinesAllowOverflow => {
                            width = 0;
                            pending = Some(frame.indent);
                        }
                    },
                },
                Element::ExpandParent => {}
                Element::StartGroup { id, expand } => {
                    let mode = if *expand { Mode::Expanded } else { frame.mode };
                    stack.push(frame.with_mode(mode));
                    if let Some(id) = id {
                        self.set_mode(*id, mode);
                    }
                }
                Element::StartConditionalGroup { condition, expand } => {
                    let expanded = self.mode_of(*condition, frame) == condition.mode && *expand;
                    let mode = if expanded { Mode::Expanded } else { frame.mode };
                    stack.push(frame.with_mode(mode));
                }
                Element::StartConditionalContent(condition) => {
                    index = self.enter_conditional_content(*condition, index, frame, &mut stack);
                }
                Element::StartIndent => stack.push(frame.indented()),
                Element::StartIndentIfGroupBreaks(id) => {
                    stack.push(self.indent_if_group_breaks(*id, frame));
                }
                Element::StartFitsExpanded {
                    condition,
                    propagate,
                } => match frame.mode {
                    Mode::Expanded => stack.push(frame),
                    Mode::Flat => {
                        let met = condition.is_none_or(|c| self.mode_of(c, frame) == c.mode);
                        if met {
                            stack.push(Frame {
                                mode: Mode::Expanded,
                                measure: Measure::AllLinesAllowOverflow,
                                ..frame
                            });
                        } else if *propagate {
                            return false;
                        } else {
                            stack.push(frame);
                        }
                    }
                },
                Element::EndGroup
                | Element::EndConditionalGroup
                | Element::EndConditionalContent
                | Element::EndIndent
                | Element::EndIndentIfGroupBreaks
                | Element::EndFitsExpanded => {
                    stack.pop();
                }
            }
            index += 1;
        }
        true
    }
}

fn is_start(element: &Element) -> bool {
    matches!(
        element,
        Element::StartGroup { .. }
            | Element::StartConditionalGroup { .. }
            | Element::StartConditionalContent(_)
            | Element::StartIndent
            | Element::StartIndentIfGroupBreaks(_)
            | Element::StartFitsExpanded { .. }
    )
}

fn is_end(element: &Element) -> bool {
    matches!(
        element,
        Element::EndGroup
            | Element::EndConditionalGroup
            | Element::EndConditionalContent
            | Element::EndIndent
            | Element::EndIndentIfGroupBreaks
            | Element::EndFitsExpanded
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(doc: &mut Doc, parts: &[&str]) {
        doc.push(Element::StartGroup {
            id: None,
            expand: false,
        });
        doc.text("f(");
        doc.push(Element::StartIndent);
        doc.line(Line::Soft);
        for (index, part) in parts.iter().enumerate() {
            if index > 0 {
                doc.text(",");
                doc.line(Line::SoftOrSpace);
            }
            doc.text(part);
        }
        doc.push(Element::EndIndent);
        doc.line(Line::Soft);
        doc.text(")");
        doc.push(Element::EndGroup);
    }

    #[test]
    fn a_group_that_fits_stays_flat() {
        let mut doc = Doc::default();
        group(&mut doc, &["a", "b"]);
        assert_eq!(doc.print(), "f(a, b)\n");
    }

    #[test]
    fn a_group_that_does_not_fit_breaks_every_line() {
        let mut doc = Doc::default();
        let long = "x".repeat(50);
        group(&mut doc, &[&long, &long]);
        assert_eq!(doc.print(), format!("f(\n    {long},\n    {long}\n)\n"));
    }

    #[test]
    fn conditional_content_follows_its_group() {
        let mut doc = Doc::default();
        let id = doc.group_id();
        doc.push(Element::StartGroup {
            id: Some(id),
            expand: true,
        });
        doc.text("a");
        doc.push(Element::EndGroup);
        let breaks = Condition {
            mode: Mode::Expanded,
            group: Some(id),
        };
        doc.push(Element::StartConditionalContent(breaks));
        doc.text("!");
        doc.push(Element::EndConditionalContent);
        assert_eq!(doc.print(), "a!\n");
    }

    #[test]
    fn expand_parent_expands_the_enclosing_group() {
        let mut doc = Doc::default();
        doc.push(Element::StartGroup {
            id: None,
            expand: false,
        });
        doc.text("a");
        doc.line(Line::SoftOrSpace);
        doc.text("b");
        doc.push(Element::ExpandParent);
        doc.push(Element::EndGroup);
        assert_eq!(doc.print(), "a\nb\n");
    }
}
