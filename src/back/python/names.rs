//! The name allocator: every identifier in a written module comes from here.
//!
//! Hints (possibly from the model, never trusted) are reduced to ASCII letters, digits and
//! single underscores, put in snake_case (variables) or UPPER_CASE (tables), shortened, and
//! made unique. No allocated name is a keyword, a soft keyword, a builtin, an ambiguous
//! single letter (`l`, `O`, `I`), or a name the module itself uses (`math`, `predict`,
//! helpers). Allocation is deterministic: the same hints in the same order give the same
//! names.

use std::collections::BTreeSet;

/// Longest identifier stem we allocate, so that statements stay well inside the line width.
const MAX_STEM: usize = 24;

const KEYWORDS: &[&str] = &[
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue",
    "def", "del", "elif", "else", "except", "finally", "for", "from", "global", "if", "import",
    "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return", "try", "while",
    "with", "yield", // Soft keywords.
    "_", "case", "match", "type",
];

const BUILTINS: &[&str] = &[
    "ArithmeticError",
    "AssertionError",
    "AttributeError",
    "BaseException",
    "BaseExceptionGroup",
    "BlockingIOError",
    "BrokenPipeError",
    "BufferError",
    "BytesWarning",
    "ChildProcessError",
    "ConnectionAbortedError",
    "ConnectionError",
    "ConnectionRefusedError",
    "ConnectionResetError",
    "DeprecationWarning",
    "EOFError",
    "Ellipsis",
    "EncodingWarning",
    "EnvironmentError",
    "Exception",
    "ExceptionGroup",
    "FileExistsError",
    "FileNotFoundError",
    "FloatingPointError",
    "FutureWarning",
    "GeneratorExit",
    "IOError",
    "ImportError",
    "ImportWarning",
    "IndentationError",
    "IndexError",
    "InterruptedError",
    "IsADirectoryError",
    "KeyError",
    "KeyboardInterrupt",
    "LookupError",
    "MemoryError",
    "ModuleNotFoundError",
    "NameError",
    "NotADirectoryError",
    "NotImplemented",
    "NotImplementedError",
    "OSError",
    "OverflowError",
    "PendingDeprecationWarning",
    "PermissionError",
    "ProcessLookupError",
    "PythonFinalizationError",
    "RecursionError",
    "ReferenceError",
    "ResourceWarning",
    "RuntimeError",
    "RuntimeWarning",
    "StopAsyncIteration",
    "StopIteration",
    "SyntaxError",
    "SyntaxWarning",
    "SystemError",
    "SystemExit",
    "TabError",
    "TimeoutError",
    "TypeError",
    "UnboundLocalError",
    "UnicodeDecodeError",
    "UnicodeEncodeError",
    "UnicodeError",
    "UnicodeTranslateError",
    "UnicodeWarning",
    "UserWarning",
    "ValueError",
    "Warning",
    "ZeroDivisionError",
    "abs",
    "aiter",
    "all",
    "anext",
    "any",
    "ascii",
    "bin",
    "bool",
    "breakpoint",
    "bytearray",
    "bytes",
    "callable",
    "chr",
    "classmethod",
    "compile",
    "complex",
    "copyright",
    "credits",
    "delattr",
    "dict",
    "dir",
    "divmod",
    "enumerate",
    "eval",
    "exec",
    "exit",
    "filter",
    "float",
    "format",
    "frozenset",
    "getattr",
    "globals",
    "hasattr",
    "hash",
    "help",
    "hex",
    "id",
    "input",
    "int",
    "isinstance",
    "issubclass",
    "iter",
    "len",
    "license",
    "list",
    "locals",
    "map",
    "max",
    "memoryview",
    "min",
    "next",
    "object",
    "oct",
    "open",
    "ord",
    "pow",
    "print",
    "property",
    "quit",
    "range",
    "repr",
    "reversed",
    "round",
    "set",
    "setattr",
    "slice",
    "sorted",
    "staticmethod",
    "str",
    "sum",
    "super",
    "tuple",
    "type",
    "vars",
    "zip",
];

/// Names that `ruff check` flags as ambiguous (E741).
const AMBIGUOUS: &[&str] = &["l", "O", "I"];

/// Names the written module uses for itself.
pub(crate) const MODULE_NAMES: &[&str] = &[
    "math", "predict", "seq", "step", "outputs", "_sigmoid", "_exp",
];

/// Hands out identifiers.
#[derive(Debug, Clone)]
pub(crate) struct Names {
    taken: BTreeSet<String>,
}

/// The case an allocated name is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Case {
    Snake,
    Upper,
}

impl Names {
    /// An allocator with the reserved names taken.
    pub(crate) fn new() -> Self {
        let taken = KEYWORDS
            .iter()
            .chain(BUILTINS)
            .chain(AMBIGUOUS)
            .chain(MODULE_NAMES)
            .map(|name| name.to_string())
            .collect();
        Names { taken }
    }

    /// A snake_case variable name from `hint`, or from `fallback` when nothing is left of it.
    pub(crate) fn variable(&mut self, hint: &str, fallback: &str) -> String {
        let stem = stem(hint, fallback, Case::Snake);
        self.unique(&stem)
    }

    /// A variable name marked unused (a leading underscore), so linters accept that it is
    /// assigned and never read.
    pub(crate) fn unused_variable(&mut self, hint: &str, fallback: &str) -> String {
        let stem = format!("_{}", stem(hint, fallback, Case::Snake));
        self.unique(&stem)
    }

    /// An UPPER_CASE table name from `hint`.
    pub(crate) fn table(&mut self, hint: &str) -> String {
        let stem = stem(hint, "table", Case::Upper);
        self.unique(&stem)
    }

    fn unique(&mut self, stem: &str) -> String {
        let mut candidate = stem.to_string();
        let mut counter = 2u64;
        while self.taken.contains(&candidate) {
            candidate = format!("{stem}_{counter}");
            counter += 1;
        }
        self.taken.insert(candidate.clone());
        candidate
    }
}

/// Reduces a hint to an identifier stem in `case`: words of ASCII letters and digits joined
/// by single underscores (camelCase splits into words), never empty, never starting with a
/// digit or an underscore, at most [`MAX_STEM`] characters.
fn stem(hint: &str, fallback: &str, case: Case) -> String {
    let mut words: Vec<String> = Vec::new();
    let mut word = String::new();
    let mut previous: Option<char> = None;
    for c in hint.chars() {
        if c.is_ascii_alphanumeric() {
            let boundary = c.is_ascii_uppercase()
                && previous.is_some_and(|p| p.is_ascii_lowercase() || p.is_ascii_digit());
            if boundary && !word.is_empty() {
                words.push(std::mem::take(&mut word));
            }
            word.push(c);
            previous = Some(c);
        } else {
            if !word.is_empty() {
                words.push(std::mem::take(&mut word));
            }
            previous = None;
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    if words.is_empty() {
        words.push(fallback.to_string());
    }
    let mut joined = words.join("_");
    joined = match case {
        Case::Snake => joined.to_ascii_lowercase(),
        Case::Upper => joined.to_ascii_uppercase(),
    };
    if joined.starts_with(|c: char| c.is_ascii_digit()) {
        let prefix = match case {
            Case::Snake => "v_",
            Case::Upper => "T_",
        };
        joined.insert_str(0, prefix);
    }
    // ASCII only, so byte truncation is character truncation.
    joined.truncate(MAX_STEM);
    joined.trim_end_matches('_').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_are_sanitised() {
        let mut names = Names::new();
        assert_eq!(names.variable("hiddenState", "v"), "hidden_state");
        assert_eq!(names.variable("h.0/weird name", "v"), "h_0_weird_name");
        assert_eq!(names.variable("3d", "v"), "v_3d");
        assert_eq!(names.variable("", "h"), "h");
        assert_eq!(names.variable("\u{e9}t\u{e9}", "v"), "t");
        assert_eq!(names.variable("__import__", "v"), "import_2");
        assert_eq!(names.table("embedding"), "EMBEDDING");
        let long = names.variable(&"a".repeat(100), "v");
        assert_eq!(long.len(), MAX_STEM);
    }

    #[test]
    fn reserved_names_and_duplicates_get_suffixes() {
        let mut names = Names::new();
        // A builtin, a keyword, a soft keyword, an ambiguous letter, the imported module.
        for reserved in ["max", "class", "match", "l", "math"] {
            assert_eq!(names.variable(reserved, "v"), format!("{reserved}_2"));
        }
        assert_eq!(names.variable("h", "v"), "h");
        assert_eq!(names.variable("h", "v"), "h_2");
        assert_eq!(names.variable("h_2", "v"), "h_2_2");
        assert_eq!(names.unused_variable("h", "v"), "_h");
        assert_eq!(names.table("None"), "NONE");
    }
}
