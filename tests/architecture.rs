//! Imports point down the layers of ARCHITECTURE.md ("Allowed imports").
//!
//! Within one crate Cargo cannot enforce which module uses which, so this
//! test does: it reads every `crate::…` path under `src/` (`use` lines,
//! grouped `use crate::{a, b::c}`, and paths written inline), maps each file
//! to its top-level module, and fails on any import the table below does
//! not allow, naming the file, the line and the rule. Comments and string
//! literals are skipped. Test code (`#[cfg(test)]` items and the files they
//! declare) is checked against the same table plus `TEST_ONLY`, the few
//! helpers tests borrow from elsewhere. The fencing crate is a separate
//! crate that does not depend on paceline, so Cargo already keeps it below.
//!
//! The table also lives in ARCHITECTURE.md; a test compares the two.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

/// One module's place: what it may import, and why it may import no more.
struct Rule {
    module: &'static str,
    may_use: &'static [&'static str],
    why: &'static str,
}

/// From the ground up: model; config; scheduler; wire, store and
/// membership; controller; node; executor, api, sim and daemon; cli, shims, fuzz and lab.
const RULES: &[Rule] = &[
    Rule {
        module: "model",
        may_use: &[],
        why: "the model is plain data everything shares; it knows no other module",
    },
    Rule {
        module: "config",
        may_use: &["model"],
        why: "config turns the cluster file and the CIB into the model; it knows nothing that acts on it",
    },
    Rule {
        module: "scheduler",
        may_use: &["model", "config"],
        why: "the scheduler is a pure function of the model; it knows no protocol, no node, no I/O",
    },
    Rule {
        module: "wire",
        may_use: &[],
        why: "the wire codec carries bytes and frames; the daemon defines what travels in them",
    },
    Rule {
        module: "store",
        may_use: &[],
        why: "the store replicates a document generic over its config and status; it knows neither",
    },
    Rule {
        module: "membership",
        may_use: &["wire"],
        why: "membership decides who is alive from heartbeats; it knows nothing of what the cluster runs",
    },
    Rule {
        module: "controller",
        may_use: &["model", "config", "scheduler", "store"],
        why: "the controller is sans-IO on the scheduler and the store; the daemon and the simulator drive it",
    },
    Rule {
        module: "executor",
        may_use: &["model", "config", "store"],
        why: "the executor runs agents on this node; it knows nothing of the cluster's protocol",
    },
    Rule {
        module: "api",
        may_use: &["model", "wire", "store", "membership", "controller"],
        why: "the API is the daemon's request/answer types and client; it knows no daemon internals",
    },
    Rule {
        module: "node",
        may_use: &[
            "model",
            "config",
            "scheduler",
            "wire",
            "store",
            "membership",
            "controller",
        ],
        why: "the node core is sans-IO glue of the machines one node runs; the daemon and the simulator drive it",
    },
    Rule {
        module: "sim",
        may_use: &[
            "model",
            "config",
            "scheduler",
            "wire",
            "store",
            "membership",
            "controller",
            "node",
        ],
        why: "the simulator drives the sans-IO machines as the daemon does; nothing pure depends on it",
    },
    Rule {
        module: "daemon",
        may_use: &[
            "model",
            "config",
            "scheduler",
            "wire",
            "store",
            "membership",
            "controller",
            "node",
            "executor",
            "api",
        ],
        why: "the daemon drives the machines with sockets and clocks; it never reaches into the CLI or the shims",
    },
    Rule {
        module: "cli",
        may_use: &[
            "model",
            "config",
            "scheduler",
            "wire",
            "store",
            "membership",
            "controller",
            "node",
            "executor",
            "api",
            "sim",
            "lab",
        ],
        why: "the CLI is on top; nothing imports it; it checks files with config's loaders, not the daemon's",
    },
    Rule {
        module: "shims",
        may_use: &["model", "membership", "executor", "api"],
        why: "the Pacemaker shims are clients of the daemon's API on top; nothing imports them",
    },
    Rule {
        module: "fuzz",
        may_use: &[
            "model",
            "config",
            "scheduler",
            "wire",
            "store",
            "controller",
            "node",
            "executor",
            "api",
            "daemon",
        ],
        why: "the fuzz harnesses feed every parser of outside input; only the fuzz runners call them",
    },
    Rule {
        module: "lab",
        may_use: &["model", "config", "api"],
        why: "the lab runs real daemons in namespaces and talks to them through the API; only the CLI uses it",
    },
];

/// Test code may also use these (never shipped, so no cycle in the build).
const TEST_ONLY: &[(&str, &[&str], &str)] = &[
    (
        "wire",
        &["sim"],
        "the channel's tests run it over sim::net's lossy network",
    ),
    (
        "daemon",
        &["sim"],
        "the store glue's tests run over sim::net",
    ),
    (
        "store",
        &["model", "controller"],
        "the store's tests replicate the real ClusterStatus and StatusPatch",
    ),
    (
        "config",
        &["scheduler"],
        "the importer's and the timers' tests schedule what they load",
    ),
];

// ---------------------------------------------------------------------------
// The checker.

#[derive(Debug, Clone, PartialEq, Eq)]
struct Violation {
    file: String,
    line: usize,
    from: String,
    to: String,
    path: String,
    rule: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: `{}` imports `{}` ({}): {}",
            self.file, self.line, self.from, self.to, self.path, self.rule
        )
    }
}

/// One source file: its path under the crate root and its text.
struct Source {
    path: String,
    text: String,
}

/// The top-level module a file belongs to (`src/x.rs`, `src/x/…`), or none
/// for the crate root and the binaries.
fn module_of(path: &str) -> Option<&str> {
    let rest = path.strip_prefix("src/")?;
    match rest.split_once('/') {
        Some(("bin", _)) => None,
        Some((dir, _)) => Some(dir),
        None if rest == "lib.rs" || rest == "main.rs" => None,
        None => rest.strip_suffix(".rs"),
    }
}

/// How many modules deep a file's own module is (`src/a/mod.rs` is 1,
/// `src/a/b.rs` 2), for `super::` paths that climb to the crate root.
fn file_depth(path: &str) -> usize {
    let rest = path.strip_prefix("src/").unwrap_or(path);
    let parts: Vec<&str> = rest.split('/').collect();
    let last = parts.last().copied().unwrap_or("");
    if last == "mod.rs" || last == "lib.rs" {
        parts.len() - 1
    } else {
        parts.len()
    }
}

/// The text with comments, string and char literals blanked (newlines kept,
/// so offsets and line numbers stay).
fn code_only(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = b.to_vec();
    let blank = |out: &mut Vec<u8>, from: usize, to: usize| {
        for c in &mut out[from..to] {
            if *c != b'\n' {
                *c = b' ';
            }
        }
    };
    let mut i = 0;
    while i < b.len() {
        let start = i;
        if b[i..].starts_with(b"//") {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
            blank(&mut out, start, i);
        } else if b[i..].starts_with(b"/*") {
            let mut depth = 0;
            while i < b.len() {
                if b[i..].starts_with(b"/*") {
                    depth += 1;
                    i += 2;
                } else if b[i..].starts_with(b"*/") {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            blank(&mut out, start, i);
        } else if b[i] == b'r'
            && (b.get(i + 1) == Some(&b'"') || b.get(i + 1) == Some(&b'#'))
            && (i == 0 || !is_ident(b[i - 1]))
        {
            let mut j = i + 1;
            let mut hashes = 0;
            while b.get(j) == Some(&b'#') {
                hashes += 1;
                j += 1;
            }
            if b.get(j) != Some(&b'"') {
                i += 1;
                continue;
            }
            j += 1;
            let close: Vec<u8> = std::iter::once(b'"')
                .chain(std::iter::repeat_n(b'#', hashes))
                .collect();
            while j < b.len() && !b[j..].starts_with(&close) {
                j += 1;
            }
            i = (j + close.len()).min(b.len());
            blank(&mut out, start, i);
        } else if b[i] == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i = (i + 1).min(b.len());
            blank(&mut out, start, i);
        } else if b[i] == b'\'' {
            // A char literal ('a', '\n', '\u{..}'), not a lifetime ('a).
            let end = if b.get(i + 1) == Some(&b'\\') {
                b[i + 2..]
                    .iter()
                    .position(|&c| c == b'\'')
                    .map(|p| i + 3 + p)
            } else {
                let ch_len = text[i + 1..].chars().next().map_or(1, char::len_utf8);
                (b.get(i + 1 + ch_len) == Some(&b'\'')).then_some(i + 2 + ch_len)
            };
            match end {
                Some(e) => {
                    blank(&mut out, start, e);
                    i = e;
                }
                None => i += 1,
            }
        } else {
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

fn ident_at(code: &str, at: usize) -> &str {
    let end = code[at..]
        .bytes()
        .position(|c| !is_ident(c))
        .map_or(code.len(), |p| at + p);
    &code[at..end]
}

fn skip_space(code: &str, mut at: usize) -> usize {
    while code.as_bytes().get(at).is_some_and(u8::is_ascii_whitespace) {
        at += 1;
    }
    at
}

/// The offset just past the `}` matching the `{` at `open`.
fn matching_brace(code: &str, open: usize) -> usize {
    let mut depth = 0usize;
    for (i, c) in code.bytes().enumerate().skip(open) {
        match c {
            b'{' => depth += 1,
            b'}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
    }
    code.len()
}

/// The byte ranges of `#[cfg(test)]` items, and the names of the modules
/// declared `#[cfg(test)] mod name;` (files that are test code entirely).
fn test_items(code: &str) -> (Vec<(usize, usize)>, Vec<String>) {
    let mut ranges = Vec::new();
    let mut files = Vec::new();
    let mut from = 0;
    while let Some(p) = code[from..].find("#[cfg(test)]") {
        let start = from + p;
        let mut at = start + "#[cfg(test)]".len();
        // Further attributes, then the item up to its `;` or its block.
        loop {
            at = skip_space(code, at);
            if code[at..].starts_with("#[") {
                at = code[at..].find(']').map_or(code.len(), |q| at + q + 1);
            } else {
                break;
            }
        }
        let semi = code[at..].find(';').map(|q| at + q);
        let brace = code[at..].find('{').map(|q| at + q);
        let end = match (semi, brace) {
            (Some(s), Some(b)) if s < b => s + 1,
            (_, Some(b)) => matching_brace(code, b),
            (Some(s), None) => s + 1,
            (None, None) => code.len(),
        };
        let item = code[at..end].trim_start();
        let item = item.strip_prefix("pub(crate) ").unwrap_or(item);
        let item = item.strip_prefix("pub ").unwrap_or(item);
        if let Some(name) = item.strip_prefix("mod ")
            && item.ends_with(';')
        {
            files.push(ident_at(name, 0).to_string());
        }
        ranges.push((start, end));
        from = end.max(start + 1);
    }
    (ranges, files)
}

/// For each `mod name {` block, its range: `super::` inside climbs one
/// more level.
fn inline_modules(code: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let b = code.as_bytes();
    let mut from = 0;
    while let Some(p) = code[from..].find("mod ") {
        let at = from + p;
        from = at + 4;
        if at > 0 && is_ident(b[at - 1]) {
            continue;
        }
        let name_at = skip_space(code, at + 4);
        let name = ident_at(code, name_at);
        let after = skip_space(code, name_at + name.len());
        if !name.is_empty() && b.get(after) == Some(&b'{') {
            out.push((after, matching_brace(code, after)));
        }
    }
    out
}

/// One reference to another top-level module: where, which, and the path
/// as written.
struct Reference {
    offset: usize,
    module: String,
    path: String,
}

/// The top-level modules a file's code names through `crate::` (or
/// `super::` climbing to the crate root), grouped uses included.
fn references(code: &str, depth: usize) -> Vec<Reference> {
    let b = code.as_bytes();
    let mut out = Vec::new();
    let push_group_or_name = |offset: usize, at: usize, out: &mut Vec<Reference>| {
        let at = skip_space(code, at);
        if b.get(at) == Some(&b'{') {
            let close = matching_brace(code, at);
            let inner = &code[at + 1..close.saturating_sub(1)];
            let mut level = 0;
            let mut item_start = 0;
            for (i, c) in inner
                .bytes()
                .enumerate()
                .chain(std::iter::once((inner.len(), b',')))
            {
                match c {
                    b'{' => level += 1,
                    b'}' => level -= 1,
                    b',' if level == 0 => {
                        let item = inner[item_start..i].trim();
                        let name = ident_at(item, 0);
                        if !name.is_empty() && name != "self" {
                            out.push(Reference {
                                offset,
                                module: name.to_string(),
                                path: format!(
                                    "crate::{}",
                                    item.split_whitespace().collect::<String>()
                                ),
                            });
                        }
                        item_start = i + 1;
                    }
                    _ => {}
                }
            }
        } else {
            let name = ident_at(code, at);
            if !name.is_empty() && name != "self" {
                let end = code[at..]
                    .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                    .map_or(code.len(), |q| at + q);
                out.push(Reference {
                    offset,
                    module: name.to_string(),
                    path: format!("crate::{}", code[at..end].trim_end_matches(':')),
                });
            }
        }
    };
    let mut from = 0;
    while let Some(p) = code[from..].find("crate::") {
        let at = from + p;
        from = at + 7;
        if at > 0 && is_ident(b[at - 1]) {
            continue;
        }
        push_group_or_name(at, at + 7, &mut out);
    }
    // `super::super::x` from deep enough climbs to the crate root.
    let inline = inline_modules(code);
    let mut from = 0;
    while let Some(p) = code[from..].find("super::") {
        let at = from + p;
        if at > 0 && (is_ident(b[at - 1]) || code[..at].ends_with("::")) {
            from = at + 7;
            continue;
        }
        let mut climbs = 0;
        let mut next = at;
        while code[next..].starts_with("super::") {
            climbs += 1;
            next = skip_space(code, next + 7);
        }
        from = next;
        let enclosing = inline.iter().filter(|(s, e)| *s < at && at < *e).count();
        if climbs >= depth + enclosing {
            push_group_or_name(at, next, &mut out);
        }
    }
    out
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset].bytes().filter(|&c| c == b'\n').count() + 1
}

fn rule(module: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.module == module)
}

fn allowed_in_tests(module: &str, target: &str) -> bool {
    TEST_ONLY
        .iter()
        .any(|(m, extra, _)| *m == module && extra.contains(&target))
}

/// Every import in `files` that the table forbids.
fn violations(files: &[Source]) -> Vec<Violation> {
    let test_files = test_only_files(files);
    let mut found = Vec::new();
    for file in files {
        let Some(module) = module_of(&file.path) else {
            continue;
        };
        let code = code_only(&file.text);
        let (test_ranges, _) = test_items(&code);
        let whole_file_is_test = test_files.iter().any(|t| {
            file.path == *t
                || file
                    .path
                    .starts_with(&format!("{}/", t.trim_end_matches(".rs")))
        });
        for r in references(&code, file_depth(&file.path)) {
            if r.module == module {
                continue;
            }
            let line = line_of(&file.text, r.offset);
            let is_test = whole_file_is_test
                || test_ranges
                    .iter()
                    .any(|(s, e)| *s <= r.offset && r.offset < *e);
            let why = match rule(module) {
                None => Some(format!(
                    "module `{module}` is not in the table of tests/architecture.rs and ARCHITECTURE.md; add it with the modules it may import"
                )),
                Some(_) if rule(&r.module).is_none() => None, // not a module (e.g. a macro)
                Some(rule) if rule.may_use.contains(&r.module.as_str()) => None,
                Some(_) if is_test && allowed_in_tests(module, &r.module) => None,
                Some(rule) if rule.may_use.is_empty() => Some(format!(
                    "`{module}` may import no other module — {}",
                    rule.why
                )),
                Some(rule) => Some(format!(
                    "`{module}` may import only {} — {}",
                    rule.may_use.join(", "),
                    rule.why
                )),
            };
            if let Some(rule) = why {
                found.push(Violation {
                    file: file.path.clone(),
                    line,
                    from: module.to_string(),
                    to: r.module.clone(),
                    path: r.path,
                    rule,
                });
            }
        }
    }
    found
}

/// Files declared `#[cfg(test)] mod x;` (test code entirely).
fn test_only_files(files: &[Source]) -> Vec<String> {
    let mut out = Vec::new();
    for file in files {
        let (_, names) = test_items(&code_only(&file.text));
        let dir = Path::new(&file.path).parent().unwrap_or(Path::new(""));
        let stem = Path::new(&file.path)
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("");
        let base = if stem == "mod" || stem == "lib" {
            dir.to_path_buf()
        } else {
            dir.join(stem)
        };
        for name in names {
            out.push(base.join(format!("{name}.rs")).display().to_string());
            out.push(base.join(name).join("mod.rs").display().to_string());
        }
    }
    out
}

fn read_sources(dir: &Path, root: &Path, out: &mut Vec<Source>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            read_sources(&path, root, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(Source {
                path: path.strip_prefix(root).unwrap().display().to_string(),
                text: std::fs::read_to_string(&path).unwrap(),
            });
        }
    }
}

fn crate_sources() -> Vec<Source> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    read_sources(&root.join("src"), root, &mut files);
    files
}

// ---------------------------------------------------------------------------
// The tests.

#[test]
fn every_import_points_down_the_layers() {
    let files = crate_sources();
    assert!(
        files.len() > 50,
        "found only {} files under src/",
        files.len()
    );
    let found = violations(&files);
    assert!(
        found.is_empty(),
        "{} import(s) against the layers of ARCHITECTURE.md:\n{}",
        found.len(),
        found
            .iter()
            .map(|v| format!("  {v}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn every_module_of_the_crate_is_in_the_table_and_no_other() {
    let lib =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lib.rs")).unwrap();
    let declared: BTreeSet<&str> =
        code_only(&lib)
            .lines()
            .filter_map(|l| l.trim().strip_prefix("pub mod "))
            .map(|l| l.trim_end_matches(';').trim())
            .collect::<Vec<_>>()
            .into_iter()
            .map(|s| {
                RULES.iter().map(|r| r.module).find(|m| *m == s).unwrap_or_else(|| {
            panic!("src/lib.rs declares `{s}`, which the table of tests/architecture.rs lacks")
        })
            })
            .collect();
    let table: BTreeSet<&str> = RULES.iter().map(|r| r.module).collect();
    assert_eq!(declared, table, "src/lib.rs and the table disagree");
}

/// No cycle among the allowed arrows (test-only ones aside): a module
/// never depends on itself through others.
#[test]
fn the_allowed_arrows_have_no_cycle() {
    let mut placed: Vec<&str> = Vec::new();
    let mut left: Vec<&Rule> = RULES.iter().collect();
    while !left.is_empty() {
        let before = left.len();
        left.retain(|r| {
            let ready = r.may_use.iter().all(|m| placed.contains(m));
            if ready {
                placed.push(r.module);
            }
            !ready
        });
        assert!(
            left.len() < before,
            "the allowed arrows have a cycle among: {:?}",
            left.iter().map(|r| r.module).collect::<Vec<_>>()
        );
    }
    let mut names: Vec<&str> = RULES.iter().map(|r| r.module).collect();
    names.sort_unstable();
    let before = names.len();
    names.dedup();
    assert_eq!(names.len(), before, "a module has two rows in the table");
    for r in RULES {
        for m in r.may_use {
            assert!(rule(m).is_some(), "{} may use unknown module {m}", r.module);
        }
    }
}

/// ARCHITECTURE.md shows the same table (between its `allowed-imports`
/// markers: `| \`module\` | a, b, c | … |`).
#[test]
fn architecture_md_shows_this_table() {
    let md = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("ARCHITECTURE.md"))
        .unwrap();
    let begin = md
        .find("<!-- allowed-imports:begin -->")
        .expect("ARCHITECTURE.md has no <!-- allowed-imports:begin --> marker");
    let end = md
        .find("<!-- allowed-imports:end -->")
        .expect("ARCHITECTURE.md has no <!-- allowed-imports:end --> marker");
    let mut shown: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for row in md[begin..end].lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        let module = cells[1].trim_matches('`').to_string();
        let uses = cells[2]
            .split(',')
            .map(|s| s.trim().trim_matches('`').to_string())
            .filter(|s| !s.is_empty() && s != "—" && s != "-")
            .collect();
        let again = shown.insert(module.clone(), uses);
        assert!(again.is_none(), "ARCHITECTURE.md lists `{module}` twice");
    }
    let table: BTreeMap<String, BTreeSet<String>> = RULES
        .iter()
        .map(|r| {
            (
                r.module.to_string(),
                r.may_use.iter().map(|s| s.to_string()).collect(),
            )
        })
        .collect();
    assert_eq!(
        shown, table,
        "ARCHITECTURE.md's allowed-imports table differs from tests/architecture.rs"
    );
}

// The checker itself, on made-up sources.

fn fake(path: &str, text: &str) -> Source {
    Source {
        path: path.into(),
        text: text.into(),
    }
}

#[test]
fn an_upward_import_is_refused_with_file_line_and_rule() {
    let files = [fake(
        "src/wire/message.rs",
        "//! Messages.\n\nuse serde::Serialize;\nuse crate::controller::StatusPatch;\n",
    )];
    let found = violations(&files);
    assert_eq!(found.len(), 1, "{found:?}");
    let v = &found[0];
    assert_eq!((v.file.as_str(), v.line), ("src/wire/message.rs", 4));
    assert_eq!((v.from.as_str(), v.to.as_str()), ("wire", "controller"));
    assert_eq!(v.path, "crate::controller::StatusPatch");
    assert!(
        v.to_string()
            .contains("`wire` may import no other module — the wire codec carries bytes"),
        "{v}"
    );
}

#[test]
fn grouped_inline_and_super_paths_are_all_seen() {
    let files = [
        fake(
            "src/executor/shims.rs",
            "use crate::{model::Score, daemon::settings::{A, B}};\n\
             fn f() { let s = crate::api::DEFAULT_SOCKET; }\n",
        ),
        fake(
            "src/membership/machine.rs",
            "mod inner { use super::super::super::controller::Input; }\n",
        ),
    ];
    let found: Vec<(String, usize, String)> = violations(&files)
        .into_iter()
        .map(|v| (v.file, v.line, v.to))
        .collect();
    assert_eq!(
        found,
        [
            ("src/executor/shims.rs".to_string(), 1, "daemon".to_string()),
            ("src/executor/shims.rs".to_string(), 2, "api".to_string()),
            (
                "src/membership/machine.rs".to_string(),
                1,
                "controller".to_string()
            ),
        ]
    );
}

#[test]
fn comments_strings_and_downward_imports_pass() {
    let files = [fake(
        "src/controller/dc.rs",
        "// see crate::daemon::driver\n/// [`crate::cli::run`]\n\
         const S: &str = \"crate::daemon::x\";\nconst R: &str = r#\"crate::cli\"#;\n\
         use crate::scheduler::schedule;\nuse crate::controller::Input;\nuse super::patch;\n\
         fn f<'a>(c: char) -> bool { c == '\"' || c == '{' }\nuse crate::store::Version;\n",
    )];
    assert_eq!(violations(&files), []);
}

#[test]
fn test_code_gets_only_its_own_extras() {
    let store = "pub struct Doc;\n#[cfg(test)]\nmod tests {\n    use crate::controller::StatusPatch;\n}\n\
                 fn f() { crate::controller::apply(); }\n";
    let wire = "#[cfg(test)]\nmod tests { use crate::sim::net::Network; use crate::daemon::x; }\n";
    let sched = "#[cfg(test)]\nmod on_fail_tests;\n";
    let files = [
        fake("src/store/mod.rs", store),
        fake("src/wire/channel.rs", wire),
        fake("src/scheduler/mod.rs", sched),
        fake("src/scheduler/on_fail_tests.rs", "use crate::daemon::y;\n"),
    ];
    let found: Vec<(String, usize, String)> = violations(&files)
        .into_iter()
        .map(|v| (v.file, v.line, v.to))
        .collect();
    assert_eq!(
        found,
        [
            ("src/store/mod.rs".to_string(), 6, "controller".to_string()),
            ("src/wire/channel.rs".to_string(), 2, "daemon".to_string()),
            (
                "src/scheduler/on_fail_tests.rs".to_string(),
                1,
                "daemon".to_string()
            ),
        ]
    );
}

#[test]
fn a_module_missing_from_the_table_is_named() {
    let found = violations(&[fake("src/metrics/mod.rs", "use crate::model::Score;\n")]);
    assert_eq!(found.len(), 1);
    assert!(
        found[0].rule.contains("`metrics` is not in the table"),
        "{}",
        found[0]
    );
}
