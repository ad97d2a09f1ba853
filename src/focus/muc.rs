//! The focus as an occupant of a MUC room (XEP-0045), which is how it learns who may join
//! the room's call: the room's occupants, by real JID.
//!
//! The focus's domain is a service administrator of the MUC service (ejabberd
//! `access_admin`), so it enters any room as an owner, and so as a moderator: it sees real
//! JIDs even in semi-anonymous rooms and gets into members-only and password-protected
//! rooms without being listed or knowing the password. It enters a room when the first
//! participant asks to join the call, and leaves when the call is over.

use std::collections::HashMap;

use minidom::Element;
use tokio_xmpp::jid::{BareJid, FullJid};
use tokio_xmpp::parsers::muc::user::{Affiliation, MucUser, Role, Status};
use tokio_xmpp::parsers::muc::Muc;

use crate::stanza::{DefinedCondition, Jid, Presence, PresenceKind};

/// XEP-0045's base namespace.
pub const NS_MUC: &str = "http://jabber.org/protocol/muc";
/// The namespace of occupant information in room presence.
pub const NS_MUC_USER: &str = "http://jabber.org/protocol/muc#user";

/// An occupant as the room shows it to a moderator.
#[derive(Clone, Debug, PartialEq)]
pub struct Occupant {
    pub nick: String,
    /// The occupant's real JID; rooms show it to moderators.
    pub real: Option<FullJid>,
    pub affiliation: Affiliation,
    pub role: Role,
}

/// How far the focus is in entering the room.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JoinState {
    /// Not in the room.
    Out,
    /// Presence sent, waiting for our own presence back.
    Joining,
    /// In the room: the occupant list is complete and kept current.
    In,
}

/// What a room presence meant for the call.
#[derive(Clone, Debug, PartialEq)]
pub enum MucEvent {
    /// We are in: the occupant list is complete.
    Joined,
    /// The room refused us.
    JoinRefused(DefinedCondition),
    /// An occupant left (or was kicked, banned, or went offline).
    Left(Occupant),
    /// We are no longer in the room (kicked, room destroyed, service shut down).
    Expelled,
}

/// The focus's presence in one room.
#[derive(Debug)]
pub struct Occupancy {
    /// `ROOM@conference.HOST`
    room: BareJid,
    /// Our own address toward the room, `ROOM@focus.HOST/focus`.
    own: FullJid,
    /// The nick we would like; `nick` is the one in use (another after a conflict).
    base_nick: String,
    nick: String,
    /// Nick conflicts so far.
    attempts: u32,
    state: JoinState,
    occupants: HashMap<String, Occupant>,
}

/// How many nicks the focus tries before it gives up on a room.
const MAX_NICK_ATTEMPTS: u32 = 5;

impl Occupancy {
    pub fn new(room: BareJid, own: FullJid, nick: &str) -> Occupancy {
        Occupancy {
            room,
            own,
            base_nick: nick.to_string(),
            nick: nick.to_string(),
            attempts: 0,
            state: JoinState::Out,
            occupants: HashMap::new(),
        }
    }

    pub fn state(&self) -> JoinState {
        self.state
    }

    pub fn room(&self) -> &BareJid {
        &self.room
    }

    /// The nick the focus uses (or tries) in the room.
    pub fn nick(&self) -> &str {
        &self.nick
    }

    /// The presence that enters the room, without history.
    pub fn join(&mut self) -> Presence {
        self.state = JoinState::Joining;
        let mut muc = Muc::new();
        muc.history = Some(tokio_xmpp::parsers::muc::muc::History::new().with_maxstanzas(0));
        self.presence(PresenceKind::Available, vec![Element::from(muc)])
    }

    /// The presence that leaves the room.
    pub fn leave(&mut self) -> Presence {
        self.state = JoinState::Out;
        self.occupants.clear();
        self.presence(PresenceKind::Unavailable, Vec::new())
    }

    /// The occupant whose real JID is `jid`, if it is in the room now.
    pub fn occupant(&self, jid: &FullJid) -> Option<&Occupant> {
        self.occupants
            .values()
            .find(|o| o.real.as_ref() == Some(jid))
    }

    /// Everyone in the room but us.
    pub fn occupants(&self) -> impl Iterator<Item = &Occupant> {
        self.occupants.values()
    }

    /// Takes a presence from the room (`from` is `ROOM@conference.HOST/NICK`). Returns what
    /// it means for the call, and maybe a presence to send (a retry with another nick).
    pub fn handle(&mut self, presence: &Presence) -> (Option<MucEvent>, Option<Presence>) {
        let Some(nick) = presence.from.resource().map(|r| r.to_string()) else {
            return (None, None);
        };
        if presence.from.to_bare() != self.room {
            return (None, None);
        }
        if let PresenceKind::Error(error) = &presence.kind {
            if self.state != JoinState::Joining || nick != self.nick {
                return (None, None);
            }
            if error.defined_condition == DefinedCondition::Conflict
                && self.attempts + 1 < MAX_NICK_ATTEMPTS
            {
                // Someone uses our nick: try the next one.
                self.attempts += 1;
                self.nick = format!("{}-{}", self.base_nick, self.attempts + 1);
                return (None, Some(self.join()));
            }
            self.state = JoinState::Out;
            self.occupants.clear();
            return (
                Some(MucEvent::JoinRefused(error.defined_condition.clone())),
                None,
            );
        }
        let user = presence
            .payloads
            .iter()
            .find(|p| p.is("x", NS_MUC_USER))
            .and_then(|x| MucUser::try_from(x.clone()).ok());
        let statuses = user.as_ref().map(|u| u.status.as_slice()).unwrap_or(&[]);
        let is_self = statuses.contains(&Status::SelfPresence);
        let item = user.as_ref().and_then(|u| u.items.first());
        match presence.kind {
            PresenceKind::Unavailable if is_self => {
                if statuses.contains(&Status::NewNick) {
                    // The room changed our nick: the next presence has the new one.
                    if let Some(new) = item.and_then(|i| i.nick.clone()) {
                        self.nick = new;
                    }
                    return (None, None);
                }
                let was_in = self.state != JoinState::Out;
                self.state = JoinState::Out;
                self.occupants.clear();
                (was_in.then_some(MucEvent::Expelled), None)
            }
            PresenceKind::Unavailable => {
                let Some(gone) = self.occupants.remove(&nick) else {
                    return (None, None);
                };
                if statuses.contains(&Status::NewNick) {
                    // Only a nick change: the same occupant comes back under the new nick.
                    if let Some(new) = item.and_then(|i| i.nick.clone()) {
                        self.occupants
                            .insert(new.clone(), Occupant { nick: new, ..gone });
                    }
                    return (None, None);
                }
                (Some(MucEvent::Left(gone)), None)
            }
            PresenceKind::Available if is_self => {
                self.nick = nick;
                if self.state == JoinState::Joining {
                    self.state = JoinState::In;
                    return (Some(MucEvent::Joined), None);
                }
                (None, None)
            }
            PresenceKind::Available => {
                let (real, affiliation, role) = match item {
                    Some(i) => (i.jid.clone(), i.affiliation.clone(), i.role.clone()),
                    None => (None, Affiliation::None, Role::None),
                };
                let occupant = Occupant {
                    nick: nick.clone(),
                    real,
                    affiliation,
                    role,
                };
                self.occupants.insert(nick, occupant);
                (None, None)
            }
            _ => (None, None),
        }
    }

    fn presence(&self, kind: PresenceKind, payloads: Vec<Element>) -> Presence {
        let to = self
            .room
            .with_resource_str(&self.nick)
            .map(Jid::from)
            .unwrap_or_else(|_| Jid::from(self.room.clone()));
        Presence {
            id: None,
            from: Jid::from(self.own.clone()),
            to,
            kind,
            payloads,
        }
    }
}
