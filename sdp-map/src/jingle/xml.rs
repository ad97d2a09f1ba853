//! The XML layer: a small read-only tree over the input text (built with
//! `quick-xml`'s pull parser, namespaces resolved, size and depth limited) and
//! a direct string writer with escaping.
//!
//! The tree is one arena (`Vec` of nodes, `Vec` of attributes) borrowing names
//! and values from the input; values are unescaped only when they hold a
//! reference. Readers walk it through the `Copy` handle [`Element`].

use std::borrow::Cow;
use std::fmt::{self, Write as _};

use quick_xml::events::attributes::Attribute;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::QName;
use quick_xml::Reader;
use quick_xml::XmlVersion;

use super::{MAX_XML_DEPTH, MAX_XML_LEN};

const NS_XML: &str = "http://www.w3.org/XML/1998/namespace";
const NONE: u32 = u32::MAX;

/// What is wrong with the XML text, and where (byte offset into the input).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("XML at byte {offset}: {kind}")]
pub struct XmlError {
    /// Byte offset into the input.
    pub offset: u64,
    /// What is wrong.
    pub kind: XmlErrorKind,
}

/// The kinds of [`XmlError`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XmlErrorKind {
    /// Not well-formed (the parser's message).
    #[error("{0}")]
    Malformed(String),
    /// An element or attribute prefix without an `xmlns:` declaration.
    #[error("unbound namespace prefix '{0}'")]
    UnboundPrefix(String),
    /// An entity other than the five predefined ones.
    #[error("unknown entity '&{0};'")]
    UnknownEntity(String),
    /// Document type declarations are not accepted.
    #[error("DOCTYPE not allowed")]
    Doctype,
    /// No root element.
    #[error("no root element")]
    NoRoot,
    /// Elements or text after the root element.
    #[error("content after the root element")]
    AfterRoot,
    /// The input ended inside an element.
    #[error("unclosed element <{0}>")]
    Unclosed(String),
}

struct Node<'i> {
    name: &'i str,
    ns: u32,
    attrs: (u32, u32),
    first_child: u32,
    last_child: u32,
    next_sibling: u32,
    text: Cow<'i, str>,
}

/// A parsed document: the arena behind [`Element`].
pub struct Document<'i> {
    nodes: Vec<Node<'i>>,
    attrs: Vec<(&'i str, Cow<'i, str>)>,
    namespaces: Vec<Cow<'i, str>>,
}

/// An element of a [`Document`] (a cheap `Copy` handle).
#[derive(Clone, Copy)]
pub struct Element<'d> {
    doc: &'d Document<'d>,
    idx: u32,
}

impl fmt::Debug for Element<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{} xmlns='{}'>", self.name(), self.ns())
    }
}

impl<'d> Element<'d> {
    fn node(&self) -> &'d Node<'d> {
        &self.doc.nodes[self.idx as usize]
    }
    /// Local name.
    pub fn name(&self) -> &'d str {
        self.node().name
    }
    /// Namespace URI (empty when none).
    pub fn ns(&self) -> &'d str {
        let n = self.node().ns;
        if n == NONE {
            ""
        } else {
            &self.doc.namespaces[n as usize]
        }
    }
    /// True when the element has this local name and namespace.
    pub fn is(&self, name: &str, ns: &str) -> bool {
        self.name() == name && self.ns() == ns
    }
    /// True when the element is in namespace `ns`.
    pub fn has_ns(&self, ns: &str) -> bool {
        self.ns() == ns
    }
    /// Value of the unprefixed attribute `name` (unescaped, normalized).
    pub fn attr(&self, name: &str) -> Option<&'d str> {
        let (a, b) = self.node().attrs;
        self.doc.attrs[a as usize..b as usize]
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| &**v)
    }
    /// The child elements, in order.
    pub fn children(&self) -> Children<'d> {
        Children {
            doc: self.doc,
            next: self.node().first_child,
        }
    }
    /// The text directly inside the element (leading whitespace before the
    /// first non-blank piece may be shortened; callers trim it).
    pub fn text(&self) -> &'d str {
        &self.node().text
    }
}

/// Iterator over child elements.
pub struct Children<'d> {
    doc: &'d Document<'d>,
    next: u32,
}

impl<'d> Iterator for Children<'d> {
    type Item = Element<'d>;
    fn next(&mut self) -> Option<Element<'d>> {
        if self.next == NONE {
            return None;
        }
        let e = Element {
            doc: self.doc,
            idx: self.next,
        };
        self.next = self.doc.nodes[self.next as usize].next_sibling;
        Some(e)
    }
}

impl<'i> Document<'i> {
    /// The root element.
    pub fn root(&self) -> Element<'_> {
        Element { doc: self, idx: 0 }
    }

    /// Parses `xml` (one root element; declarations, comments and processing
    /// instructions around it are skipped). Rejects input larger than
    /// [`MAX_XML_LEN`] or nested deeper than [`MAX_XML_DEPTH`].
    pub fn parse(xml: &'i str) -> Result<Document<'i>, super::JingleError> {
        if xml.len() > MAX_XML_LEN {
            return Err(super::JingleError::TooLarge);
        }
        Parser::new(xml).run()
    }
}

struct Parser<'i> {
    input: &'i str,
    reader: Reader<&'i [u8]>,
    doc: Document<'i>,
    /// Open elements (node index).
    stack: Vec<u32>,
    /// Prefix bindings in scope: (prefix, namespace index); `""` is the default.
    bindings: Vec<(&'i str, u32)>,
    /// Number of bindings per open element.
    binding_marks: Vec<usize>,
    /// Default namespace in scope inside each open element.
    default_ns: Vec<u32>,
    root_done: bool,
}

/// The subslice of `input` that `s` is (quick-xml borrows from the input for
/// `Reader::from_str`, but ties the lifetime to the event).
fn reborrow<'i>(input: &'i str, s: &str) -> Option<&'i str> {
    let start = (s.as_ptr() as usize).checked_sub(input.as_ptr() as usize)?;
    input.get(start..start.checked_add(s.len())?)
}

impl<'i> Parser<'i> {
    fn new(input: &'i str) -> Self {
        let mut reader = Reader::from_str(input);
        let cfg = reader.config_mut();
        cfg.check_end_names = true;
        cfg.check_comments = true;
        Parser {
            input,
            reader,
            doc: Document {
                nodes: Vec::with_capacity(input.len() / 48 + 1),
                attrs: Vec::with_capacity(input.len() / 24 + 1),
                namespaces: Vec::with_capacity(8),
            },
            stack: Vec::with_capacity(MAX_XML_DEPTH),
            bindings: Vec::with_capacity(16),
            binding_marks: Vec::with_capacity(MAX_XML_DEPTH),
            default_ns: Vec::with_capacity(MAX_XML_DEPTH),
            root_done: false,
        }
    }

    fn err(&self, kind: XmlErrorKind) -> super::JingleError {
        super::JingleError::Xml(XmlError {
            offset: self.reader.buffer_position(),
            kind,
        })
    }

    fn run(mut self) -> Result<Document<'i>, super::JingleError> {
        loop {
            let ev = match self.reader.read_event() {
                Ok(ev) => ev,
                Err(e) => {
                    return Err(super::JingleError::Xml(XmlError {
                        offset: self.reader.error_position(),
                        kind: XmlErrorKind::Malformed(e.to_string()),
                    }))
                }
            };
            match ev {
                Event::Start(s) => self.start(&s, false)?,
                Event::Empty(s) => self.start(&s, true)?,
                Event::End(_) => self.end(),
                Event::Text(t) => {
                    let raw = reborrow(self.input, &t);
                    let content = t.xml10_content();
                    let piece = match (content, raw) {
                        (Cow::Borrowed(_), Some(r)) => Cow::Borrowed(r),
                        (c, _) => Cow::Owned(c.into_owned()),
                    };
                    self.text(piece)?;
                }
                Event::CData(t) => {
                    let piece = match reborrow(self.input, &t) {
                        Some(r) => Cow::Borrowed(r),
                        None => Cow::Owned(t.to_string()),
                    };
                    self.text(piece)?;
                }
                Event::GeneralRef(r) => {
                    let ch = r
                        .resolve_char_ref()
                        .map_err(|e| self.err(XmlErrorKind::Malformed(e.to_string())))?;
                    let s: Cow<'i, str> = match ch {
                        Some(c) => Cow::Owned(c.to_string()),
                        None => match quick_xml::escape::resolve_predefined_entity(&r) {
                            Some(s) => Cow::Borrowed(s),
                            None => {
                                let name: String = r.chars().take(64).collect();
                                return Err(self.err(XmlErrorKind::UnknownEntity(name)));
                            }
                        },
                    };
                    self.text(s)?;
                }
                Event::DocType(_) => return Err(self.err(XmlErrorKind::Doctype)),
                Event::Comment(_) | Event::Decl(_) | Event::PI(_) => {}
                Event::Eof => break,
            }
        }
        if let Some(&open) = self.stack.last() {
            let name = self.doc.nodes[open as usize].name.to_string();
            return Err(self.err(XmlErrorKind::Unclosed(name)));
        }
        if !self.root_done {
            return Err(self.err(XmlErrorKind::NoRoot));
        }
        Ok(self.doc)
    }

    fn text(&mut self, piece: Cow<'i, str>) -> Result<(), super::JingleError> {
        let Some(&open) = self.stack.last() else {
            if piece.trim().is_empty() {
                return Ok(());
            }
            return Err(self.err(if self.root_done {
                XmlErrorKind::AfterRoot
            } else {
                XmlErrorKind::NoRoot
            }));
        };
        let t = &mut self.doc.nodes[open as usize].text;
        if t.is_empty() {
            *t = piece;
        } else if t.trim().is_empty() && piece.trim().is_empty() {
            // blank runs between child elements: keep one, callers trim
        } else {
            t.to_mut().push_str(&piece);
        }
        Ok(())
    }

    fn resolve(&self, prefix: &str) -> Option<u32> {
        if prefix == "xml" {
            return Some(NONE - 1);
        }
        self.bindings
            .iter()
            .rev()
            .find(|(p, _)| *p == prefix)
            .map(|&(_, n)| n)
    }

    fn start(&mut self, s: &BytesStart<'_>, empty: bool) -> Result<(), super::JingleError> {
        if self.root_done && self.stack.is_empty() {
            return Err(self.err(XmlErrorKind::AfterRoot));
        }
        if self.stack.len() >= MAX_XML_DEPTH {
            return Err(super::JingleError::TooDeep);
        }
        let content = reborrow(self.input, s)
            .ok_or_else(|| self.err(XmlErrorKind::Malformed("unexpected buffer".into())))?;
        let qname_len = s.name().as_ref().len();
        let qname = content.get(..qname_len).unwrap_or(content);
        // first pass: namespace declarations
        let mark = self.bindings.len();
        let attr_start = self.doc.attrs.len();
        let mut default_decl = None;
        let raw = content.get(qname_len..).unwrap_or("");
        for a in (RawAttrs { raw, pos: 0 }) {
            let (key, raw_value) =
                a.map_err(|m| self.err(XmlErrorKind::Malformed(m.to_string())))?;
            let value = if raw_value
                .bytes()
                .any(|b| matches!(b, b'&' | b'\t' | b'\n' | b'\r'))
            {
                Attribute {
                    key: QName(key),
                    value: Cow::Borrowed(raw_value),
                }
                .normalized_value(XmlVersion::Implicit1_0)
                .map_err(|e| self.err(XmlErrorKind::Malformed(e.to_string())))?
            } else {
                Cow::Borrowed(raw_value)
            };
            if key == "xmlns" || key.starts_with("xmlns:") {
                let prefix = key.get(6..).unwrap_or("");
                // no interning: a borrowed Cow costs nothing, comparing URIs does
                self.doc.namespaces.push(value);
                let idx = self.doc.namespaces.len() - 1;
                let idx = if prefix.is_empty() && self.doc.namespaces[idx].is_empty() {
                    NONE
                } else {
                    idx as u32
                };
                if prefix.is_empty() {
                    default_decl = Some(idx);
                } else {
                    self.bindings.push((prefix, idx));
                }
            } else {
                if let Some((p, _)) = key.split_once(':') {
                    if self.resolve(p).is_none() {
                        let p = p.to_string();
                        self.bindings.truncate(mark);
                        return Err(self.err(XmlErrorKind::UnboundPrefix(p)));
                    }
                }
                if self.doc.attrs[attr_start..].iter().any(|(k, _)| *k == key) {
                    self.bindings.truncate(mark);
                    return Err(self.err(XmlErrorKind::Malformed(format!(
                        "duplicate attribute '{}'",
                        key.chars().take(64).collect::<String>()
                    ))));
                }
                self.doc.attrs.push((key, value));
            }
        }
        let (prefix, local) = match qname.split_once(':') {
            Some((p, l)) => (p, l),
            None => ("", qname),
        };
        let default_ns =
            default_decl.unwrap_or_else(|| self.default_ns.last().copied().unwrap_or(NONE));
        let ns = if prefix.is_empty() {
            default_ns
        } else {
            match self.resolve(prefix) {
                Some(n) if n == NONE - 1 => {
                    // the reserved xml prefix: intern its namespace
                    match self.doc.namespaces.iter().position(|n| n == NS_XML) {
                        Some(i) => i as u32,
                        None => {
                            self.doc.namespaces.push(Cow::Borrowed(NS_XML));
                            (self.doc.namespaces.len() - 1) as u32
                        }
                    }
                }
                Some(n) => n,
                None => return Err(self.err(XmlErrorKind::UnboundPrefix(prefix.to_string()))),
            }
        };
        let idx = self.doc.nodes.len() as u32;
        self.doc.nodes.push(Node {
            name: local,
            ns,
            attrs: (attr_start as u32, self.doc.attrs.len() as u32),
            first_child: NONE,
            last_child: NONE,
            next_sibling: NONE,
            text: Cow::Borrowed(""),
        });
        if let Some(&parent) = self.stack.last() {
            let p = &mut self.doc.nodes[parent as usize];
            let last = p.last_child;
            p.last_child = idx;
            if last == NONE {
                p.first_child = idx;
            } else {
                self.doc.nodes[last as usize].next_sibling = idx;
            }
        }
        if empty {
            self.bindings.truncate(mark);
            if self.stack.is_empty() {
                self.root_done = true;
            }
        } else {
            self.stack.push(idx);
            self.binding_marks.push(mark);
            self.default_ns.push(default_ns);
        }
        Ok(())
    }

    fn end(&mut self) {
        // quick-xml checks that end names match
        self.stack.pop();
        self.default_ns.pop();
        if let Some(mark) = self.binding_marks.pop() {
            self.bindings.truncate(mark);
        }
        if self.stack.is_empty() {
            self.root_done = true;
        }
    }
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// Attributes of a start tag (`name='value'` pairs after the element name),
/// values still escaped. Faster than quick-xml's checked iterator; duplicates
/// are checked by the caller.
struct RawAttrs<'i> {
    raw: &'i str,
    pos: usize,
}

impl<'i> Iterator for RawAttrs<'i> {
    type Item = Result<(&'i str, &'i str), &'static str>;
    fn next(&mut self) -> Option<Self::Item> {
        let b = self.raw.as_bytes();
        let mut i = self.pos;
        while b.get(i).is_some_and(|&c| is_space(c)) {
            i += 1;
        }
        if i >= b.len() {
            return None;
        }
        if i == self.pos && i != 0 {
            self.pos = b.len();
            return Some(Err("no whitespace between attributes"));
        }
        let start = i;
        while b.get(i).is_some_and(|&c| {
            !is_space(c) && !matches!(c, b'=' | b'\'' | b'"' | b'<' | b'>' | b'&')
        }) {
            i += 1;
        }
        let name = &self.raw[start..i];
        while b.get(i).is_some_and(|&c| is_space(c)) {
            i += 1;
        }
        self.pos = b.len();
        if name.is_empty() || b.get(i) != Some(&b'=') {
            return Some(Err("malformed attribute"));
        }
        i += 1;
        while b.get(i).is_some_and(|&c| is_space(c)) {
            i += 1;
        }
        let q = match b.get(i) {
            Some(&q @ (b'\'' | b'"')) => q,
            _ => return Some(Err("attribute value not quoted")),
        };
        let vstart = i + 1;
        let Some(len) = b.get(vstart..).and_then(|r| r.iter().position(|&c| c == q)) else {
            return Some(Err("unterminated attribute value"));
        };
        let value = &self.raw[vstart..vstart + len];
        if value.contains('<') {
            return Some(Err("'<' in an attribute value"));
        }
        self.pos = vstart + len + 1;
        Some(Ok((name, value)))
    }
}

/// Writes XML text directly: elements with a static name and namespace
/// (`xmlns` written when it differs from the parent's), attributes in
/// single quotes, escaped values and text.
pub struct Writer {
    out: String,
    stack: Vec<(&'static str, &'static str)>,
    open_tag: bool,
}

impl Default for Writer {
    fn default() -> Self {
        Self::with_capacity(2048)
    }
}

/// Bytes that [`escape_into`] replaces.
const SPECIAL: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = matches!(
            i as u8,
            b'&' | b'<' | b'>' | b'\'' | b'"' | b'\n' | b'\r' | b'\t'
        );
        i += 1;
    }
    t
};

fn escape_into(out: &mut String, s: &str) {
    if !s.bytes().any(|b| SPECIAL[b as usize]) {
        out.push_str(s);
        return;
    }
    let mut last = 0;
    for (i, b) in s.bytes().enumerate() {
        let rep = match b {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'\'' => "&apos;",
            b'"' => "&quot;",
            b'\n' => "&#xA;",
            b'\r' => "&#xD;",
            b'\t' => "&#x9;",
            _ => continue,
        };
        out.push_str(&s[last..i]);
        out.push_str(rep);
        last = i + 1;
    }
    out.push_str(&s[last..]);
}

impl Writer {
    /// A writer with `cap` bytes reserved.
    pub fn with_capacity(cap: usize) -> Self {
        Writer {
            out: String::with_capacity(cap),
            stack: Vec::with_capacity(MAX_XML_DEPTH),
            open_tag: false,
        }
    }

    fn close_tag(&mut self) {
        if self.open_tag {
            self.out.push('>');
            self.open_tag = false;
        }
    }

    /// Opens `<name xmlns='ns'`.
    pub fn start(&mut self, name: &'static str, ns: &'static str) {
        self.close_tag();
        self.out.push('<');
        self.out.push_str(name);
        if self.stack.last().map(|&(_, n)| n) != Some(ns) {
            self.out.push_str(" xmlns='");
            escape_into(&mut self.out, ns);
            self.out.push('\'');
        }
        self.stack.push((name, ns));
        self.open_tag = true;
    }

    /// Adds an attribute to the element just opened.
    pub fn attr(&mut self, name: &str, value: &str) {
        debug_assert!(self.open_tag);
        self.out.push(' ');
        self.out.push_str(name);
        self.out.push_str("='");
        escape_into(&mut self.out, value);
        self.out.push('\'');
    }

    /// Adds an attribute whose value needs no escaping (a number).
    pub fn attr_num(&mut self, name: &str, value: impl fmt::Display) {
        debug_assert!(self.open_tag);
        let _ = write!(self.out, " {name}='{value}'");
    }

    /// Adds escaped text.
    pub fn text(&mut self, t: &str) {
        self.close_tag();
        escape_into(&mut self.out, t);
    }

    /// Adds text that needs no escaping (a number).
    pub fn text_num(&mut self, value: impl fmt::Display) {
        self.close_tag();
        let _ = write!(self.out, "{value}");
    }

    /// Closes the innermost open element.
    pub fn end(&mut self) {
        let Some((name, _)) = self.stack.pop() else {
            return;
        };
        if self.open_tag {
            self.out.push_str("/>");
            self.open_tag = false;
        } else {
            self.out.push_str("</");
            self.out.push_str(name);
            self.out.push('>');
        }
    }

    /// `<name xmlns='ns'/>`.
    pub fn empty(&mut self, name: &'static str, ns: &'static str) {
        self.start(name, ns);
        self.end();
    }

    /// Closes every open element and returns the text.
    pub fn finish(mut self) -> String {
        while !self.stack.is_empty() {
            self.end();
        }
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_namespaces_attributes_and_text() {
        let xml = "<?xml version='1.0'?><iq xmlns='jabber:client' xmlns:j='urn:j'><j:a x='1&amp;2' y=\"&#65;\"><b xmlns=''/>t&lt;u<![CDATA[<v>]]></j:a></iq>";
        let d = Document::parse(xml).expect("parse");
        let root = d.root();
        assert!(root.is("iq", "jabber:client"));
        let a = root.children().next().expect("a");
        assert!(a.is("a", "urn:j"));
        assert_eq!(a.attr("x"), Some("1&2"));
        assert_eq!(a.attr("y"), Some("A"));
        assert_eq!(a.text(), "t<u<v>");
        let b = a.children().next().expect("b");
        assert!(b.is("b", ""));
    }

    #[test]
    fn rejects_malformed() {
        for xml in [
            "",
            "<a>",
            "<a></b>",
            "<p:a/>",
            "<a p:x='1'/>",
            "<a/><b/>",
            "<a/>text",
            "<!DOCTYPE a><a/>",
            "<a>&ent;</a>",
            "<a x='1' x='2'/>",
            "<a x='<'/>",
            "<a x='1'y='2'/>",
            "<a x=1/>",
            "<a x='1/>",
            "<a ='1'/>",
        ] {
            assert!(Document::parse(xml).is_err(), "{xml}");
        }
    }

    #[test]
    fn writer_escapes_and_round_trips() {
        let mut w = Writer::default();
        w.start("a", "urn:x");
        w.attr("v", "<'&\"\n>");
        w.start("b", "urn:x");
        w.text("1 < 2 & 'q'");
        w.end();
        w.empty("c", "urn:y");
        let s = w.finish();
        let d = Document::parse(&s).expect(&s);
        let a = d.root();
        assert_eq!(a.attr("v"), Some("<'&\"\n>"));
        let mut ch = a.children();
        let b = ch.next().expect("b");
        assert!(b.is("b", "urn:x"));
        assert_eq!(b.text(), "1 < 2 & 'q'");
        assert!(ch.next().expect("c").is("c", "urn:y"));
    }
}
