//! XEP-0320: Use of DTLS-SRTP in Jingle Sessions — `<fingerprint hash setup>value</fingerprint>`.

use minidom::Element;

use super::{el, opt_token, req_token, set, text, JingleError, NS_DTLS};
use crate::model::Fingerprint;

/// Writes a `<fingerprint>`.
pub fn write(f: &Fingerprint, setup: Option<&str>) -> Element {
    let mut e = el("fingerprint", NS_DTLS);
    set(&mut e, "hash", f.hash.as_str());
    if let Some(s) = setup {
        set(&mut e, "setup", s);
    }
    e.append_text(f.value.as_str());
    e
}

/// Reads a `<fingerprint>`, returning it and its `setup`.
pub fn read(e: &Element) -> Result<(Fingerprint, Option<String>), JingleError> {
    let value = text(e, "fingerprint")?;
    if value.is_empty() || value.contains(char::is_whitespace) {
        return Err(JingleError::BadText {
            element: "fingerprint",
        });
    }
    Ok((
        Fingerprint {
            hash: req_token(e, "fingerprint", "hash")?.to_string(),
            value,
        },
        opt_token(e, "fingerprint", "setup")?.map(str::to_string),
    ))
}
