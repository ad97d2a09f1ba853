//! XEP-0298 (COIN) `<conference-info/>` as XEP-0521 uses it: the focus marks the
//! `<jingle>` elements it sends with `isfocus='true'` and, on a session that carries another
//! participant's media, names that participant in `<users><user entity='xmpp:...'/>`.

use minidom::Element;

/// The XEP-0298 namespace.
pub const NS_COIN: &str = "urn:xmpp:coin:1";

/// A `<conference-info/>` element.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConferenceInfo {
    /// Sent by the conference focus.
    pub is_focus: bool,
    /// The participants this element is about.
    pub users: Vec<User>,
}

/// One `<user/>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    /// A URI, `xmpp:` + bare JID for XMPP participants.
    pub entity: String,
    /// A name to show (RFC 4575 `display-text`), e.g. the MUC nick.
    pub display_text: Option<String>,
}

/// Why an element is not a `<conference-info/>` this crate can read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CoinError {
    /// Another element.
    #[error("not a <conference-info xmlns='{NS_COIN}'/> element")]
    NotConferenceInfo,
    /// A `<user/>` without `entity`.
    #[error("<user/> lacks 'entity'")]
    UserWithoutEntity,
}

impl ConferenceInfo {
    /// `<conference-info isfocus='true'/>`, as in the focus's `session-accept`.
    pub fn focus() -> ConferenceInfo {
        ConferenceInfo {
            is_focus: true,
            users: Vec::new(),
        }
    }

    /// The focus's element for a session carrying the media of `user`.
    pub fn focus_for(user: User) -> ConferenceInfo {
        ConferenceInfo {
            is_focus: true,
            users: vec![user],
        }
    }
}

impl User {
    /// A user named by its bare JID.
    pub fn xmpp(bare_jid: &str, display_text: Option<String>) -> User {
        User {
            entity: format!("xmpp:{bare_jid}"),
            display_text,
        }
    }
}

impl From<&ConferenceInfo> for Element {
    fn from(info: &ConferenceInfo) -> Element {
        let mut b = Element::builder("conference-info", NS_COIN);
        if info.is_focus {
            b = b.attr(name("isfocus"), "true");
        }
        if !info.users.is_empty() {
            let users = info.users.iter().map(|u| {
                let mut user = Element::builder("user", NS_COIN).attr(name("entity"), &u.entity);
                if let Some(text) = &u.display_text {
                    user = user
                        .append(Element::builder("display-text", NS_COIN).append(text.as_str()));
                }
                user.build()
            });
            b = b.append(Element::builder("users", NS_COIN).append_all(users));
        }
        b.build()
    }
}

impl TryFrom<&Element> for ConferenceInfo {
    type Error = CoinError;

    fn try_from(el: &Element) -> Result<ConferenceInfo, CoinError> {
        if !el.is("conference-info", NS_COIN) {
            return Err(CoinError::NotConferenceInfo);
        }
        let mut users = Vec::new();
        for user in el
            .get_child("users", NS_COIN)
            .into_iter()
            .flat_map(|u| u.children())
            .filter(|c| c.is("user", NS_COIN))
        {
            users.push(User {
                entity: user
                    .attr("entity")
                    .ok_or(CoinError::UserWithoutEntity)?
                    .into(),
                display_text: user.get_child("display-text", NS_COIN).map(Element::text),
            });
        }
        Ok(ConferenceInfo {
            is_focus: matches!(el.attr("isfocus"), Some("true" | "1")),
            users,
        })
    }
}

fn name(n: &'static str) -> minidom::rxml::NcName {
    minidom::rxml::NcName::try_from(n).expect("attribute name literals are valid XML names")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn focus_elements_round_trip() {
        let accept = Element::from(&ConferenceInfo::focus());
        assert_eq!(
            String::from(&accept),
            "<conference-info xmlns='urn:xmpp:coin:1' isfocus='true'/>"
        );
        let info = ConferenceInfo::focus_for(User::xmpp("bob@example.org", Some("Bob".into())));
        let el = Element::from(&info);
        let user = el
            .get_child("users", NS_COIN)
            .and_then(|u| u.get_child("user", NS_COIN))
            .expect("a user");
        assert_eq!(user.attr("entity"), Some("xmpp:bob@example.org"));
        assert_eq!(ConferenceInfo::try_from(&el), Ok(info));
    }

    #[test]
    fn refuses_what_it_cannot_read() {
        let other = Element::bare("conference-info", "urn:example");
        assert_eq!(
            ConferenceInfo::try_from(&other),
            Err(CoinError::NotConferenceInfo)
        );
        let el: Element =
            "<conference-info xmlns='urn:xmpp:coin:1'><users><user/></users></conference-info>"
                .parse()
                .unwrap();
        assert_eq!(
            ConferenceInfo::try_from(&el),
            Err(CoinError::UserWithoutEntity)
        );
    }
}
