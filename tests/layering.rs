//! The layering of `src/` holds: every import goes down the layers, no two files of one folder import
//! each other in a circle, and the CLI's entry point stays thin.
//!
//! The check reads the source as text: each file's `use` trees and its `crate::`, `super::`,
//! `self::` and child-module paths, resolved to the file of the module they name. A folder's
//! `mod.rs` and the files inside it may name each other (the folder's interface and its parts);
//! every other pair of files counts.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use petgraph::algo::tarjan_scc;
use petgraph::graph::DiGraph;

/// The top-level modules of `src/`, lowest first. A module may import only from modules before it
/// (or from itself). The compiler is everything up to `driver`; the tools sit above it.
const LAYERS: &[&str] = &[
    "diag",
    "rng",
    "network",
    "program",
    "front",
    "verify",
    "normal",
    "rewrite",
    "lower",
    "lift",
    "back",
    "driver",
    "onnx_write",
    "synth",
    "tasks",
    "export",
    "train",
    "analyze",
    "bench",
    "cli",
    "main",
];

/// Longest `src/main.rs` may grow: argument parsing and dispatch only.
const MAIN_MAX_LINES: usize = 300;

/// A module path from the crate root, e.g. `["lift", "finite"]`; the root itself is empty.
type ModulePath = Vec<String>;

struct SourceTree {
    /// Module path to the file that defines it, relative to `src/`.
    files: BTreeMap<ModulePath, PathBuf>,
}

impl SourceTree {
    fn read(src: &Path) -> SourceTree {
        let mut files = BTreeMap::new();
        let mut pending = vec![src.to_path_buf()];
        while let Some(dir) = pending.pop() {
            for entry in std::fs::read_dir(&dir).expect("src/ is readable") {
                let path = entry.expect("a directory entry").path();
                if path.is_dir() {
                    pending.push(path);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    let relative = path.strip_prefix(src).unwrap().to_path_buf();
                    files.insert(module_path(&relative), relative);
                }
            }
        }
        SourceTree { files }
    }

    fn children(&self, module: &[String]) -> BTreeSet<&str> {
        self.files
            .keys()
            .filter(|m| m.len() == module.len() + 1 && m.starts_with(module))
            .map(|m| m[module.len()].as_str())
            .collect()
    }

    /// The module whose file defines the longest prefix of `path`, if any but the root.
    fn resolve(&self, path: &[String]) -> Option<&ModulePath> {
        (1..=path.len())
            .rev()
            .find_map(|n| self.files.get_key_value(&path[..n]).map(|(k, _)| k))
    }

    /// Every module each file names, resolved to module files (itself excluded).
    fn imports(&self, src: &Path) -> BTreeMap<ModulePath, BTreeSet<ModulePath>> {
        let mut imports = BTreeMap::new();
        for (module, file) in &self.files {
            let text =
                strip_comments_and_literals(&std::fs::read_to_string(src.join(file)).unwrap());
            let children = self.children(module);
            let mut targets = BTreeSet::new();
            for path in named_paths(&text, &children) {
                let Some(absolute) = absolute_path(module, &path, &children) else {
                    continue;
                };
                if let Some(target) = self.resolve(&absolute) {
                    if target != module {
                        targets.insert(target.clone());
                    }
                }
            }
            imports.insert(module.clone(), targets);
        }
        imports
    }
}

fn module_path(relative: &Path) -> ModulePath {
    let mut parts: Vec<String> = relative
        .with_extension("")
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
        parts.pop();
    }
    parts
}

/// The source with comments, string and character literals blanked, so that paths in them do
/// not count.
fn strip_comments_and_literals(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let rest = |k: usize| chars.get(i + k).copied();
        match chars[i] {
            '/' if rest(1) == Some('/') => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '/' if rest(1) == Some('*') => {
                i += 2;
                while i + 1 < chars.len() && !(chars[i] == '*' && chars[i + 1] == '/') {
                    i += 1;
                }
                i += 2;
            }
            'r' if (rest(1) == Some('"') || rest(1) == Some('#'))
                && !chars[..i]
                    .last()
                    .is_some_and(|c| c.is_alphanumeric() || *c == '_') =>
            {
                let mut j = i + 1;
                let mut hashes = 0;
                while chars.get(j) == Some(&'#') {
                    hashes += 1;
                    j += 1;
                }
                if chars.get(j) != Some(&'"') {
                    out.push(chars[i]);
                    i += 1;
                    continue;
                }
                j += 1;
                let closing: String = std::iter::once('"')
                    .chain(std::iter::repeat_n('#', hashes))
                    .collect();
                let closing: Vec<char> = closing.chars().collect();
                while j < chars.len() && !chars[j..].starts_with(&closing) {
                    j += 1;
                }
                i = j + closing.len();
                out.push_str("\"\"");
            }
            '"' => {
                i += 1;
                while i < chars.len() && chars[i] != '"' {
                    if chars[i] == '\\' {
                        i += 1;
                    }
                    i += 1;
                }
                i += 1;
                out.push_str("\"\"");
            }
            '\'' if rest(2) == Some('\'') || (rest(1) == Some('\\') && rest(3) == Some('\'')) => {
                i += if rest(1) == Some('\\') { 4 } else { 3 };
                out.push_str("' '");
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

/// Every path the text names that could point into the crate: the leaves of `use` trees, and
/// `crate::`/`super::`/`self::` or child-module paths written inline.
fn named_paths(text: &str, children: &BTreeSet<&str>) -> Vec<Vec<String>> {
    let mut paths = Vec::new();
    let mut rest = text;
    while let Some(at) = find_keyword(rest, "use") {
        let after = &rest[at + 3..];
        let Some(end) = after.find(';') else { break };
        expand_use_tree(&after[..end], &mut Vec::new(), &mut paths);
        rest = &after[end..];
    }
    let tokens = path_tokens(text);
    for token in tokens {
        let segments: Vec<String> = token.split("::").map(str::to_string).collect();
        if segments.len() > 1
            && (matches!(segments[0].as_str(), "crate" | "super" | "self")
                || children.contains(segments[0].as_str()))
        {
            paths.push(segments);
        }
    }
    paths
}

/// Position of `word` as a whole word in `text`.
fn find_keyword(text: &str, word: &str) -> Option<usize> {
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    let mut from = 0;
    while let Some(found) = text[from..].find(word) {
        let at = from + found;
        let before = text[..at].chars().next_back();
        let after = text[at + word.len()..].chars().next();
        if !before.is_some_and(is_ident) && after.is_some_and(char::is_whitespace) {
            return Some(at);
        }
        from = at + word.len();
    }
    None
}

/// Maximal runs like `a::b::c` (identifiers joined by `::`), not preceded by `::`.
fn path_tokens(text: &str) -> Vec<String> {
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if is_ident(chars[i]) && (i == 0 || !(is_ident(chars[i - 1]) || chars[i - 1] == ':')) {
            let start = i;
            loop {
                while i < chars.len() && is_ident(chars[i]) {
                    i += 1;
                }
                if i + 2 < chars.len()
                    && chars[i] == ':'
                    && chars[i + 1] == ':'
                    && is_ident(chars[i + 2])
                {
                    i += 2;
                } else {
                    break;
                }
            }
            tokens.push(chars[start..i].iter().collect());
        } else {
            i += 1;
        }
    }
    tokens
}

/// The leaves of a `use` tree (`a::{b, c::{d, e as f}}`) as full paths.
fn expand_use_tree(tree: &str, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    let tree: String = without_renames(tree)
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let mut depth = 0;
    let mut item = String::new();
    let mut items = Vec::new();
    for c in tree.chars() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            _ => {}
        }
        if c == ',' && depth == 0 {
            items.push(std::mem::take(&mut item));
        } else {
            item.push(c);
        }
    }
    items.push(item);
    for item in items.into_iter().filter(|i| !i.is_empty()) {
        let item = item.trim_start_matches("::");
        match item.find('{') {
            Some(open) => {
                let head: Vec<String> = item[..open]
                    .split("::")
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect();
                let inner = &item[open + 1..item.rfind('}').unwrap_or(item.len())];
                let depth = prefix.len();
                prefix.extend(head);
                expand_use_tree(inner, prefix, out);
                prefix.truncate(depth);
            }
            None => {
                let mut path = prefix.clone();
                path.extend(
                    item.split("::")
                        .filter(|s| !s.is_empty())
                        .map(str::to_string),
                );
                out.push(path);
            }
        }
    }
}

/// A `use` tree without its renames (`a as b` becomes `a`).
fn without_renames(tree: &str) -> String {
    let words: Vec<&str> = tree.split_whitespace().collect();
    let mut kept = Vec::new();
    let mut i = 0;
    while i < words.len() {
        if words[i] == "as" && i + 1 < words.len() {
            // Keep the punctuation after the new name: `b,` or `b}`.
            let tail = words[i + 1].trim_start_matches(|c: char| c.is_alphanumeric() || c == '_');
            kept.push(tail);
            i += 2;
        } else {
            kept.push(words[i]);
            i += 1;
        }
    }
    kept.join(" ")
}

/// `path` as written in `module`, from the crate root; `None` for paths into other crates.
fn absolute_path(
    module: &[String],
    path: &[String],
    children: &BTreeSet<&str>,
) -> Option<Vec<String>> {
    let first = path.first()?.as_str();
    match first {
        "crate" => Some(path[1..].to_vec()),
        "self" => Some([module, &path[1..]].concat()),
        "super" => {
            let ups = path.iter().take_while(|s| *s == "super").count();
            let base = module.get(..module.len().checked_sub(ups)?)?;
            Some([base, &path[ups..]].concat())
        }
        _ if children.contains(first) => Some([module, path].concat()),
        _ if module.is_empty() => Some(path.to_vec()),
        _ => None,
    }
}

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn layer_of(module: &[String]) -> usize {
    let top = module.first().map(String::as_str).unwrap_or("main");
    LAYERS.iter().position(|l| *l == top).unwrap_or_else(|| {
        panic!("src/{top} is in no layer: add it to LAYERS in tests/layering.rs")
    })
}

fn show(module: &[String]) -> String {
    if module.is_empty() {
        "main/lib".to_string()
    } else {
        module.join("::")
    }
}

#[test]
fn every_import_goes_down_the_layers() {
    let tree = SourceTree::read(&src_dir());
    let mut upward = Vec::new();
    for (module, targets) in tree.imports(&src_dir()) {
        if module.is_empty() {
            continue;
        }
        for target in targets {
            if layer_of(&target) > layer_of(&module) {
                upward.push(format!("{} imports {}", show(&module), show(&target)));
            }
        }
    }
    assert!(
        upward.is_empty(),
        "imports that go up the layers:\n{}",
        upward.join("\n")
    );
}

#[test]
fn no_files_import_each_other_in_a_circle() {
    let tree = SourceTree::read(&src_dir());
    let imports = tree.imports(&src_dir());
    let mut graph = DiGraph::<&ModulePath, ()>::new();
    let nodes: BTreeMap<&ModulePath, _> =
        tree.files.keys().map(|m| (m, graph.add_node(m))).collect();
    for (module, targets) in &imports {
        for target in targets {
            // A folder's mod.rs and the files inside it form the folder's interface and parts.
            let family = target.starts_with(module) || module.starts_with(target);
            if !family {
                graph.add_edge(nodes[module], nodes[target], ());
            }
        }
    }
    let circles: Vec<String> = tarjan_scc(&graph)
        .into_iter()
        .filter(|component| component.len() > 1)
        .map(|component| {
            let mut names: Vec<String> = component.iter().map(|n| show(graph[*n])).collect();
            names.sort();
            names.join(" <-> ")
        })
        .collect();
    assert!(
        circles.is_empty(),
        "files that import each other in a circle:\n{}",
        circles.join("\n")
    );
}

#[test]
fn main_stays_thin() {
    let lines = std::fs::read_to_string(src_dir().join("main.rs"))
        .unwrap()
        .lines()
        .count();
    assert!(
        lines <= MAIN_MAX_LINES,
        "src/main.rs has {lines} lines (at most {MAIN_MAX_LINES})"
    );
}

#[test]
fn the_reader_sees_imports() {
    let children = BTreeSet::from(["child"]);
    let text = strip_comments_and_literals(
        "use crate::a::{b, c::{d as e}};\n// crate::hidden::x\nlet s = \"crate::nope::y\";\nchild::f(); super::g();",
    );
    let paths = named_paths(&text, &children);
    let flat: Vec<String> = paths.iter().map(|p| p.join("::")).collect();
    assert!(flat.contains(&"crate::a::b".to_string()), "{flat:?}");
    assert!(flat.contains(&"crate::a::c::d".to_string()), "{flat:?}");
    assert!(flat.contains(&"child::f".to_string()), "{flat:?}");
    assert!(flat.contains(&"super::g".to_string()), "{flat:?}");
    assert!(
        !flat
            .iter()
            .any(|p| p.contains("hidden") || p.contains("nope")),
        "{flat:?}"
    );
    let module = vec!["x".to_string(), "y".to_string()];
    assert_eq!(
        absolute_path(&module, &["super".into(), "z".into()], &children),
        Some(vec!["x".to_string(), "z".to_string()])
    );
}
