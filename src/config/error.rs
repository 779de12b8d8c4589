//! Configuration errors that point at the offending file, line and column,
//! with a rustc-style snippet and the fix.

use std::fmt;
use std::path::PathBuf;

/// One problem found in a configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub file: String,
    /// 1-based line and column of the offending value.
    pub line: usize,
    pub column: usize,
    pub message: String,
    /// What to do about it.
    pub help: Option<String>,
    /// The offending source line, for the caret display.
    pub source_line: String,
    pub span_len: usize,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "error: {}", self.message)?;
        writeln!(f, "  --> {}:{}:{}", self.file, self.line, self.column)?;
        if !self.source_line.is_empty() {
            let gutter = self.line.to_string().len();
            writeln!(f, "{:gutter$} |", "")?;
            let (shown, pad) = window(&self.source_line, self.column.saturating_sub(1));
            writeln!(f, "{} | {}", self.line, shown)?;
            let carets = self
                .span_len
                .clamp(1, shown.chars().count().saturating_sub(pad).max(1));
            let pad = " ".repeat(pad);
            write!(f, "{:gutter$} | {pad}{}", "", "^".repeat(carets))?;
            if self.help.is_some() {
                writeln!(f)?;
            }
        }
        if let Some(help) = &self.help {
            write!(f, "  = help: {help}")?;
        }
        Ok(())
    }
}

/// Characters of a long source line shown before and after the column.
const WINDOW_BEFORE: usize = 60;
const WINDOW_AFTER: usize = 100;

/// The part of `line` around the 0-based column `pad` that the snippet
/// shows, and the column within it: a line of megabytes is not printed
/// whole, and a width past 65,535 would overflow the formatter (it panics).
fn window(line: &str, pad: usize) -> (String, usize) {
    let skip = pad.saturating_sub(WINDOW_BEFORE);
    let take = (pad - skip).saturating_add(WINDOW_AFTER);
    let mut shown: String = line.chars().skip(skip).take(take).collect();
    let mut pad = pad - skip;
    if skip > 0 {
        shown.insert_str(0, "...");
        pad = pad.saturating_add(3);
    }
    (shown, pad)
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}", render(.0))]
    Invalid(Vec<Diagnostic>),
}

impl ConfigError {
    /// The diagnostics, empty for I/O errors.
    pub fn diagnostics(&self) -> &[Diagnostic] {
        match self {
            ConfigError::Invalid(d) => d,
            ConfigError::Io { .. } => &[],
        }
    }
}

fn render(diags: &[Diagnostic]) -> String {
    let mut out = String::new();
    for (i, d) in diags.iter().enumerate() {
        if i > 0 {
            out.push_str("\n\n");
        }
        out.push_str(&d.to_string());
    }
    if diags.len() > 1 {
        out.push_str(&format!("\n\n{} errors", diags.len()));
    }
    out
}

/// Maps byte offsets of one source text to lines and columns.
pub struct SourceMap<'a> {
    pub file: &'a str,
    pub text: &'a str,
}

impl SourceMap<'_> {
    pub fn diag(
        &self,
        span: std::ops::Range<usize>,
        message: impl Into<String>,
        help: Option<String>,
    ) -> Diagnostic {
        let start = span.start.min(self.text.len());
        let before = &self.text[..start];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
        let column = before[line_start..].chars().count() + 1;
        let line_end = self.text[line_start..]
            .find('\n')
            .map(|i| line_start + i)
            .unwrap_or(self.text.len());
        let source_line = self.text[line_start..line_end]
            .trim_end_matches('\r')
            .to_string();
        let span_len = self.text[start..span.end.min(line_end).max(start)]
            .chars()
            .count();
        Diagnostic {
            file: self.file.to_string(),
            line,
            column,
            message: message.into(),
            help,
            source_line,
            span_len,
        }
    }
}

/// The known word closest to `word`, if it is close enough to be a typo.
///
/// The distance is at least the difference of the lengths, so a word
/// whose length alone puts it out of reach is not compared: a 100 kB
/// unknown key cost 3 s of distance tables per error (a 10 MB one, minutes).
pub fn nearest<'a>(word: &str, known: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let reach = |k: &str| (k.len().max(word.len()) / 3).max(2);
    let chars = word.chars().count();
    known
        .into_iter()
        .filter(|k| k.chars().count().abs_diff(chars) <= reach(k))
        .map(|k| (levenshtein(word, k), k))
        .filter(|(d, k)| *d <= reach(k))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

#[cfg(test)]
thread_local! {
    /// Distance-table cells computed on this thread (tests bound the work).
    static CELLS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

fn levenshtein(a: &str, b: &str) -> usize {
    #[cfg(test)]
    CELLS.with(|c| c.set(c.get() + a.chars().count() * b.chars().count()));
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur.push((prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at_column(column: usize, line_len: usize) -> String {
        Diagnostic {
            file: "cluster.toml".into(),
            line: 2,
            column,
            message: "unknown key".into(),
            help: None,
            source_line: "x".repeat(line_len),
            span_len: 3,
        }
        .to_string()
    }

    #[test]
    fn a_column_past_65535_shows_a_window_with_its_caret() {
        let text = at_column(70_000, 80_000);
        assert!(text.contains("cluster.toml:2:70000"), "{text}");
        let snippet = text.lines().nth(3).unwrap();
        let caret = text.lines().nth(4).unwrap();
        assert!(snippet.starts_with("2 | ...x"), "{snippet}");
        assert!(snippet.len() < 200, "{snippet}");
        assert_eq!(caret.find('^'), Some("2 | ".len() + 3 + WINDOW_BEFORE));
    }

    /// A 10 MB unknown key took minutes of distance tables before the
    /// error was shown; its length alone rules every suggestion out now.
    #[test]
    fn a_huge_unknown_word_is_not_compared() {
        let known = ["name", "authkey", "state_dir", "socket"];
        let huge = "a".repeat(100_000);
        CELLS.with(|c| c.set(0));
        assert_eq!(nearest(&huge, known), None);
        assert_eq!(CELLS.with(|c| c.get()), 0);
        assert_eq!(nearest("sokcet", known), Some("socket"));
        assert_eq!(nearest("authkeys", known), Some("authkey"));
    }

    #[test]
    fn a_short_line_is_shown_whole() {
        let text = at_column(5, 10);
        assert!(text.contains("2 | xxxxxxxxxx\n"), "{text}");
        assert!(text.ends_with("  |     ^^^"), "{text}");
    }
}
