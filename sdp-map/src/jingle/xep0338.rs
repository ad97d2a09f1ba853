//! XEP-0338: Jingle Grouping Framework — `<group semantics><content name/></group>`.

use minidom::Element;

use super::{el, req_token, set, JingleError, NS_GROUPING};
use crate::model::Group;

/// Writes a `<group>`.
pub fn write(g: &Group) -> Element {
    let mut e = el("group", NS_GROUPING);
    set(&mut e, "semantics", g.semantics.as_str());
    for m in &g.mids {
        let mut c = el("content", NS_GROUPING);
        set(&mut c, "name", m.as_str());
        e.append_child(c);
    }
    e
}

/// Reads a `<group>`.
pub fn read(e: &Element) -> Result<Group, JingleError> {
    Ok(Group {
        semantics: req_token(e, "group", "semantics")?.to_string(),
        mids: e
            .children()
            .filter(|c| c.is("content", NS_GROUPING))
            .map(|c| req_token(c, "content", "name").map(str::to_string))
            .collect::<Result<_, _>>()?,
    })
}
