//! XEP-0320: Use of DTLS-SRTP in Jingle Sessions — `<fingerprint hash setup>value</fingerprint>`.

use super::{opt_token, req_token, text, Element, JingleError, Writer, NS_DTLS};
use crate::model::Fingerprint;

/// Writes a `<fingerprint>`.
pub fn write(w: &mut Writer, f: &Fingerprint, setup: Option<&str>) {
    w.start("fingerprint", NS_DTLS);
    w.attr("hash", &f.hash);
    if let Some(s) = setup {
        w.attr("setup", s);
    }
    w.text(&f.value);
    w.end();
}

/// Reads a `<fingerprint>`, returning it and its `setup`.
pub fn read(e: &Element<'_>) -> Result<(Fingerprint, Option<String>), JingleError> {
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
