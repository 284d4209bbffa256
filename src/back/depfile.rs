//! Make/ninja depfiles: the rule `OUTPUT: MODEL` a build system reads to rerun the converter
//! when the model changes.

use std::path::Path;

/// A path that a make rule cannot hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the path {} has a line break, which a make rule cannot hold", .path.escape_debug())]
pub struct DepfileError {
    /// The path as given.
    pub path: String,
}

/// A depfile of one rule saying `output` depends on `model`. Spaces, `#`, `$` and the
/// backslashes before them are escaped as GNU make and ninja read them (see [`make_escape`]).
///
/// Errors: [`DepfileError`] when either path has a line break.
pub fn depfile(output: &str, model: &Path) -> Result<String, DepfileError> {
    let model = model.to_string_lossy();
    for path in [output, &model] {
        if path.contains(['\n', '\r']) {
            return Err(DepfileError {
                path: path.to_string(),
            });
        }
    }
    Ok(format!(
        "{}: {}\n",
        make_escape(output),
        make_escape(&model)
    ))
}

/// Escapes a path for a make rule: `$` as `$$`, `#` as `\#`, a space or tab as `\ ` (with the
/// backslashes that precede it doubled, as gcc's `-MD` writes them), other characters as they
/// are.
pub fn make_escape(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut backslashes = 0;
    for c in path.chars() {
        match c {
            '\\' => {
                backslashes += 1;
                out.push(c);
                continue;
            }
            ' ' | '\t' | '#' => {
                out.extend(std::iter::repeat_n('\\', backslashes + 1));
                out.push(c);
            }
            '$' => out.push_str("$$"),
            c => out.push(c),
        }
        backslashes = 0;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_what_make_reads_specially() {
        assert_eq!(make_escape("a b#c$d"), "a\\ b\\#c$$d");
        assert_eq!(make_escape("x\\ y"), "x\\\\\\ y");
        assert_eq!(make_escape("dir\\file"), "dir\\file");
    }

    #[test]
    fn a_line_break_is_refused() {
        let error = depfile("out\n.py", Path::new("m.onnx")).unwrap_err();
        assert_eq!(
            error.to_string(),
            "the path out\\n.py has a line break, which a make rule cannot hold"
        );
        assert_eq!(
            depfile("out.py", Path::new("m.onnx")).unwrap(),
            "out.py: m.onnx\n"
        );
    }
}
