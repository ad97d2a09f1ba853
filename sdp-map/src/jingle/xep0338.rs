//! XEP-0338: Jingle Grouping Framework — `<group semantics><content name/></group>`.

use super::{req_token, Element, JingleError, Writer, NS_GROUPING};
use crate::model::{Group, MAX_CONTENTS};

/// Writes a `<group>`.
pub fn write(w: &mut Writer, g: &Group) {
    w.start("group", NS_GROUPING);
    w.attr("semantics", &g.semantics);
    for m in &g.mids {
        w.start("content", NS_GROUPING);
        w.attr("name", m);
        w.end();
    }
    w.end();
}

/// Reads a `<group>`.
pub fn read(e: &Element<'_>) -> Result<Group, JingleError> {
    let semantics = req_token(e, "group", "semantics")?.to_string();
    let mut mids = Vec::new();
    for c in e.children().filter(|c| c.is("content", NS_GROUPING)) {
        super::room(
            mids.len(),
            "<content/> elements in a <group/>",
            MAX_CONTENTS,
        )?;
        mids.push(req_token(&c, "content", "name")?.to_string());
    }
    Ok(Group { semantics, mids })
}
