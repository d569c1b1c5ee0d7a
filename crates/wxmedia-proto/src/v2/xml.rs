//! The flat `<xml><field>value</field>…</xml>` format of v2 replies: a strict reader and a writer.

use std::collections::BTreeSet;

use quick_xml::Reader;
use quick_xml::events::Event;

use crate::DecodeError;

/// The fields of a flat v2 XML document, in document order.
///
/// Reading is strict on purpose (WeChat Pay's 2018 XXE advisory): any
/// `<!DOCTYPE` is refused, only the five predefined entities and character
/// references are expanded, nested elements and duplicate fields are
/// refused, and every value is kept as a string, CDATA or escaped text alike.
/// Values are not trimmed, so the signature is checked over exactly what was
/// sent.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Fields {
    fields: Vec<(String, String)>,
}

/// A document being read: the fields so far, where we are, and the field
/// open now.
struct Walk {
    fields: Vec<(String, String)>,
    seen: BTreeSet<String>,
    /// Where we are: before the root, inside it, inside a field, after it.
    state: State,
    current: Option<(String, String)>,
}

impl Walk {
    /// `<name>`: the root, or a field in it; anything deeper is refused.
    fn start(&mut self, name: String) -> Result<(), DecodeError> {
        match self.state {
            State::BeforeRoot if name == "xml" => self.state = State::InRoot,
            State::BeforeRoot | State::AfterRoot => return Err(DecodeError::Root),
            State::InRoot => {
                self.current = Some((name, String::new()));
                self.state = State::InField;
            }
            State::InField => return Err(DecodeError::Nested(name)),
        }
        Ok(())
    }

    /// `<name/>`: an empty field, or an empty root.
    fn empty(&mut self, name: String) -> Result<(), DecodeError> {
        match self.state {
            State::InRoot => push(&mut self.fields, &mut self.seen, name, String::new())?,
            State::InField => return Err(DecodeError::Nested(name)),
            // `<xml/>` has no fields at all.
            State::BeforeRoot if name == "xml" => self.state = State::AfterRoot,
            State::BeforeRoot | State::AfterRoot => return Err(DecodeError::Root),
        }
        Ok(())
    }

    /// `</name>`: a field ends (and is kept), or the root does.
    fn end(&mut self) -> Result<(), DecodeError> {
        match self.state {
            State::InField => {
                let (name, value) = self.current.take().expect("a field is open");
                push(&mut self.fields, &mut self.seen, name, value)?;
                self.state = State::InRoot;
            }
            State::InRoot => self.state = State::AfterRoot,
            // The reader checks end names, so this cannot be reached
            // with a well-formed document; refuse rather than panic.
            _ => return Err(DecodeError::Syntax("unexpected end tag".into())),
        }
        Ok(())
    }

    /// The value of the open field, for `what` (CDATA, a character
    /// reference) to be added to; outside a field it is refused.
    fn field_text(&mut self, what: &str) -> Result<&mut String, DecodeError> {
        match self.current.as_mut() {
            Some((_, value)) => Ok(value),
            None => Err(DecodeError::Syntax(format!("{what} outside a field"))),
        }
    }
}

impl Fields {
    /// Parse a document.
    pub fn parse(body: &[u8]) -> Result<Fields, DecodeError> {
        let text = std::str::from_utf8(body).map_err(|_| DecodeError::Utf8)?;
        if text.trim().is_empty() {
            return Err(DecodeError::Empty);
        }
        if text.contains('\0') {
            return Err(DecodeError::Syntax("NUL character".into()));
        }
        let mut reader = Reader::from_str(text);
        let mut walk = Walk {
            fields: Vec::new(),
            seen: BTreeSet::new(),
            state: State::BeforeRoot,
            current: None,
        };
        loop {
            let event = reader
                .read_event()
                .map_err(|e| DecodeError::Syntax(e.to_string()))?;
            match event {
                Event::DocType(_) => return Err(DecodeError::Doctype),
                Event::Decl(_) | Event::Comment(_) | Event::PI(_) => {
                    if walk.state == State::InField {
                        return Err(DecodeError::Syntax(
                            "declaration or comment inside a field".into(),
                        ));
                    }
                }
                Event::Start(start) => walk.start(start.name().as_ref().to_owned())?,
                Event::Empty(start) => walk.empty(start.name().as_ref().to_owned())?,
                Event::End(_) => walk.end()?,
                Event::Text(text) => {
                    let content = text.xml10_content();
                    if let Some((_, value)) = walk.current.as_mut() {
                        value.push_str(&content);
                    } else if !content.chars().all(|c| c.is_ascii_whitespace()) {
                        return Err(DecodeError::Syntax("text outside a field".into()));
                    }
                }
                Event::CData(data) => walk.field_text("CDATA")?.push_str(&data.xml10_content()),
                Event::GeneralRef(reference) => {
                    let ch = resolve(&reference)?;
                    walk.field_text("text")?.push(ch);
                }
                Event::Eof => break,
            }
        }
        match walk.state {
            State::AfterRoot => Ok(Fields {
                fields: walk.fields,
            }),
            State::BeforeRoot => Err(DecodeError::Root),
            _ => Err(DecodeError::Syntax(
                "document ends inside an element".into(),
            )),
        }
    }

    /// The value of a field.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// All fields, in document order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.fields.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// Whether there are no fields.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    BeforeRoot,
    InRoot,
    InField,
    AfterRoot,
}

fn push(
    fields: &mut Vec<(String, String)>,
    seen: &mut BTreeSet<String>,
    name: String,
    value: String,
) -> Result<(), DecodeError> {
    if !seen.insert(name.clone()) {
        return Err(DecodeError::Duplicate(name));
    }
    fields.push((name, value));
    Ok(())
}

fn resolve(reference: &quick_xml::events::BytesRef<'_>) -> Result<char, DecodeError> {
    if reference.is_char_ref() {
        return match reference.resolve_char_ref() {
            Ok(Some(c)) if c != '\0' => Ok(c),
            _ => Err(DecodeError::Entity(format!("&{};", &**reference))),
        };
    }
    match &**reference {
        "lt" => Ok('<'),
        "gt" => Ok('>'),
        "amp" => Ok('&'),
        "apos" => Ok('\''),
        "quot" => Ok('"'),
        other => Err(DecodeError::Entity(format!("&{other};"))),
    }
}

/// Write fields as a flat v2 document with CDATA values, the way WeChat
/// Pay writes its replies. A value holding `]]>` is split across two CDATA
/// sections so that it survives. Names must be XML names; this is meant for
/// the simulator and tests, which choose their own names.
pub fn write(fields: &[(&str, &str)]) -> String {
    let mut out = String::from("<xml>");
    for (name, value) in fields {
        out.push('<');
        out.push_str(name);
        out.push('>');
        if !value.is_empty() {
            out.push_str("<![CDATA[");
            out.push_str(&value.replace("]]>", "]]]]><![CDATA[>"));
            out.push_str("]]>");
        }
        out.push_str("</");
        out.push_str(name);
        out.push('>');
    }
    out.push_str("</xml>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_cdata_and_escaped_text_alike() {
        let f = Fields::parse(
            b"<?xml version=\"1.0\"?>\n<xml>\n <a><![CDATA[x<y]]></a>\n <b>x&lt;y&#x41;&amp;</b><c/></xml>\n",
        )
        .unwrap();
        assert_eq!(f.get("a"), Some("x<y"));
        assert_eq!(f.get("b"), Some("x<yA&"));
        assert_eq!(f.get("c"), Some(""));
        assert_eq!(f.len(), 3);
    }

    #[test]
    fn keeps_spaces_in_values() {
        let f = Fields::parse(b"<xml><a> v </a></xml>").unwrap();
        assert_eq!(f.get("a"), Some(" v "));
    }

    #[test]
    fn refuses_doctype_entities_nesting_duplicates_and_roots() {
        let cases: &[(&[u8], DecodeError)] = &[
            (
                b"<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><xml><a>&e;</a></xml>",
                DecodeError::Doctype,
            ),
            (b"<xml><a>&e;</a></xml>", DecodeError::Entity("&e;".into())),
            (
                b"<xml><a><b>1</b></a></xml>",
                DecodeError::Nested("b".into()),
            ),
            (
                b"<xml><a>1</a><a>2</a></xml>",
                DecodeError::Duplicate("a".into()),
            ),
            (b"<root><a>1</a></root>", DecodeError::Root),
            (b"<xml></xml><xml></xml>", DecodeError::Root),
            (b"  \n", DecodeError::Empty),
            (b"<xml><a>\xff</a></xml>", DecodeError::Utf8),
        ];
        for (body, want) in cases {
            assert_eq!(
                &Fields::parse(body).unwrap_err(),
                want,
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn refuses_html_and_truncated_documents() {
        assert!(Fields::parse(b"<html><body>502 Bad Gateway</body></html>").is_err());
        assert!(Fields::parse(b"<xml><a>1</a>").is_err());
        assert!(Fields::parse(b"<xml><a>1</xml>").is_err());
        assert!(Fields::parse(b"<xml><a>\x001</a></xml>").is_err());
        assert!(Fields::parse(b"plain text").is_err());
    }

    #[test]
    fn writer_output_reads_back_even_with_cdata_terminators() {
        let fields = [("a", "x]]>y"), ("b", ""), ("c", "<&>")];
        let f = Fields::parse(write(&fields).as_bytes()).unwrap();
        let got: Vec<_> = f.iter().collect();
        assert_eq!(got, fields);
    }
}
