//! A small element tree built with quick-xml, keeping byte offsets so errors
//! can name the line of the offending element.
//!
//! The tree is walked, converted and dropped recursively, so its depth is
//! bounded while it is read (`MAX_DEPTH`): 100,000 nested `<rule>`s would
//! otherwise overflow the stack of `import-cib` and `simulate --cib`.

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

use super::CibError;

/// The deepest element nesting read, as libxml2 (Pacemaker's XML parser)
/// allows by default: a real CIB nests fewer than 20 levels (cib,
/// configuration, constraints, rsc_location, rules within rules).
pub const MAX_DEPTH: usize = 256;

#[derive(Debug, Clone, Default)]
pub struct Element {
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub children: Vec<Element>,
    pub line: usize,
}

impl Element {
    pub fn attr(&self, key: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }
    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }
    /// Depth-first walk over this element and its descendants.
    pub fn walk<'a>(&'a self, out: &mut Vec<&'a Element>) {
        out.push(self);
        for c in &self.children {
            c.walk(out);
        }
    }
}

fn line_of(text: &str, pos: usize) -> usize {
    let end = pos.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

/// Counts lines incrementally so that a large document is scanned once.
struct LineCounter {
    pos: usize,
    line: usize,
}

impl LineCounter {
    fn at(&mut self, text: &str, pos: usize) -> usize {
        let pos = pos.min(text.len());
        if pos >= self.pos {
            self.line += text.as_bytes()[self.pos..pos]
                .iter()
                .filter(|b| **b == b'\n')
                .count();
            self.pos = pos;
        }
        self.line
    }
}

fn start_element(line: usize, e: &BytesStart) -> Result<Element, CibError> {
    let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
    let mut attrs = Vec::new();
    for a in e.attributes() {
        let a = a.map_err(|err| CibError::Xml {
            line,
            message: err.to_string(),
        })?;
        let key = String::from_utf8_lossy(a.key.as_ref()).into_owned();
        let value = a
            .unescape_value()
            .map_err(|err| CibError::Xml {
                line,
                message: err.to_string(),
            })?
            .into_owned();
        attrs.push((key, value));
    }
    Ok(Element {
        name,
        attrs,
        children: Vec::new(),
        line,
    })
}

/// Parses a whole document into its root element.
pub fn parse(text: &str) -> Result<Element, CibError> {
    let mut reader = Reader::from_str(text);
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let mut lines = LineCounter { pos: 0, line: 1 };
    loop {
        let pos = reader.buffer_position() as usize;
        let ev = reader.read_event().map_err(|err| CibError::Xml {
            line: line_of(text, reader.buffer_position() as usize),
            message: err.to_string(),
        })?;
        match ev {
            Event::Start(e) => {
                let line = lines.at(text, pos);
                if stack.len() >= MAX_DEPTH {
                    return Err(CibError::Xml {
                        line,
                        message: format!(
                            "elements nested more than {MAX_DEPTH} deep (a CIB nests fewer than 20)"
                        ),
                    });
                }
                stack.push(start_element(line, &e)?);
            }
            Event::Empty(e) => {
                let el = start_element(lines.at(text, pos), &e)?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None => root = Some(el),
                }
            }
            Event::End(_) => {
                let Some(el) = stack.pop() else {
                    return Err(CibError::Xml {
                        line: line_of(text, pos),
                        message: "unexpected closing tag".into(),
                    });
                };
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None => root = Some(el),
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !stack.is_empty() {
        return Err(CibError::Xml {
            line: line_of(text, text.len()),
            message: format!("element <{}> is not closed", stack[stack.len() - 1].name),
        });
    }
    root.ok_or(CibError::Xml {
        line: 1,
        message: "the document has no root element".into(),
    })
}
