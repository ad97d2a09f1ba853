//! The focus core, sans-IO in the str0m shape: the runtime calls [`Focus::handle`] with a
//! typed [`Input`] and the current time, then drains [`Focus::poll_output`] until it says
//! when to call again ([`Output::Timeout`]). It owns no socket, reads no clock and imports
//! nothing from the XMPP edge, so the same code runs under tokio and in table-driven tests.
//!
//! At the component's domain it is a service (discovery, version, ping, the right error for
//! everything else). Each `ROOM@domain` is the focus of the group call (XEP-0521) of the MUC
//! room `ROOM@<muc service>`: a [`Conference`], created by the first `session-initiate` and
//! dropped when its last participant leaves.

use std::collections::HashMap;
use std::time::Instant;

use minidom::rxml::NcName;
use minidom::Element;
use tokio_xmpp::jid::{BareJid, FullJid};

use crate::stanza::{
    DefinedCondition, Iq, IqKind, Jid, MessageKind, Presence, Stanza, StanzaError,
};

pub mod bridge;
pub mod commands;
pub mod conference;
pub mod disco;
pub mod limits;
pub mod muc;
pub mod outbox;
pub mod ping;
pub mod signalling;
pub mod stats;
pub mod version;

use bridge::{Command, Event, RoomId};
use commands::RoomSettings;
use conference::Conference;
use limits::JoinRate;
use muc::Occupancy;
use outbox::{Outbox, Purpose};

/// The Jingle features served at room JIDs (and so by the component).
pub const JINGLE_FEATURES: &[&str] = &[
    "urn:xmpp:jingle:1",
    "urn:xmpp:jingle:apps:rtp:1",
    "urn:xmpp:jingle:apps:rtp:audio",
    "urn:xmpp:jingle:apps:rtp:video",
    "urn:xmpp:jingle:transports:ice-udp:1",
    "urn:xmpp:jingle:apps:dtls:0",
    "urn:xmpp:jingle:apps:grouping:0",
    "urn:ietf:rfc:5888",
    "urn:xmpp:jingle:apps:rtp:rtcp-fb:0",
    "urn:xmpp:jingle:apps:rtp:rtp-hdrext:0",
    "urn:xmpp:jingle:apps:rtp:ssma:0",
    "urn:ietf:rfc:5576",
    jingle::xep0298::NS_COIN,
    NS_AV_CONFERENCES,
];

/// XEP-0521's feature.
pub const NS_AV_CONFERENCES: &str = "urn:xmpp:jingle:av-conferences:0";
const NS_JINGLE: &str = "urn:xmpp:jingle:1";

/// What the focus needs to know of its deployment.
#[derive(Clone, Debug)]
pub struct FocusConfig {
    /// The component's domain, `focus.example.org`.
    pub domain: String,
    /// The MUC service whose rooms have calls, `conference.example.org`.
    pub muc_service: String,
    /// The nick the focus takes in rooms.
    pub nick: String,
    /// Participants per call unless the room's owners set otherwise.
    pub max_participants: usize,
    /// The server the component is attached to: its users may read the counts.
    pub server_domain: String,
}

/// What happened, as the focus needs to know it.
#[derive(Debug)]
#[allow(
    clippy::large_enum_variant,
    reason = "one input at a time, moved once: boxing would only add an allocation"
)]
pub enum Input {
    /// A stanza addressed to the component, already typed by the edge.
    Stanza(Stanza),
    /// Something the media bridge reports.
    Bridge(Event),
    /// The bridge's counts, asked for by [`Output::BridgeStats`].
    BridgeStats {
        request: Iq,
        stats: bridge::BridgeStats,
    },
    /// The deadline of the last [`Output::Timeout`] has passed.
    Timeout,
    /// The component stream is (again) attached to the server.
    Connected,
    /// The component stream is gone: whatever was sent but not answered may be lost.
    Disconnected,
}

/// What the focus wants the runtime to do.
#[derive(Debug, PartialEq)]
#[allow(
    clippy::large_enum_variant,
    reason = "drained one at a time right after they are made"
)]
pub enum Output {
    /// Send this stanza on the component stream.
    Send(Stanza),
    /// Tell the media bridge.
    Bridge(Command),
    /// Read the bridge's counts and hand them back with [`Input::BridgeStats`].
    BridgeStats(Box<Iq>),
    /// Nothing more for now: call [`Focus::handle`] with [`Input::Timeout`] at this instant
    /// (or never, for `None`), or earlier when an input arrives.
    Timeout(Option<Instant>),
}

/// The conference focus for one component domain.
#[derive(Debug)]
pub struct Focus {
    config: FocusConfig,
    out: Outbox,
    /// Calls by the room's focus JID, `ROOM@domain`.
    rooms: HashMap<BareJid, Conference>,
    room_ids: HashMap<RoomId, BareJid>,
    /// Settings the rooms' owners chose; they outlive calls.
    settings: HashMap<BareJid, RoomSettings>,
    join_rate: JoinRate,
}

impl Focus {
    /// `seed` makes session ids unpredictable (the runtime passes a random one).
    pub fn new(config: FocusConfig, seed: u64, now: Instant) -> Focus {
        Focus {
            config,
            out: Outbox::new(seed, now),
            rooms: HashMap::new(),
            room_ids: HashMap::new(),
            settings: HashMap::new(),
            join_rate: JoinRate::default(),
        }
    }

    pub fn domain(&self) -> &str {
        &self.config.domain
    }

    /// Calls in progress (rooms the focus is serving).
    pub fn room_count(&self) -> usize {
        self.rooms.len()
    }

    /// What the focus holds now.
    pub fn stats(&self) -> stats::FocusStats {
        stats::FocusStats {
            rooms: self.rooms.len(),
            participants: self.rooms.values().map(Conference::participant_count).sum(),
            sessions: self.rooms.values().map(Conference::session_count).sum(),
            pending_iqs: self.out.pending.len(),
            endpoints: self.out.endpoints.len(),
        }
    }

    /// The call of a room, by its focus JID.
    pub fn conference(&self, room: &BareJid) -> Option<&Conference> {
        self.rooms.get(room)
    }

    /// The call of a room, by its focus JID, to read what changed.
    pub fn conference_mut(&mut self, room: &BareJid) -> Option<&mut Conference> {
        self.rooms.get_mut(room)
    }

    /// Takes one input at time `now`.
    pub fn handle(&mut self, input: Input, now: Instant) {
        self.out.now = now;
        match input {
            Input::Stanza(stanza) => self.on_stanza(stanza),
            Input::Bridge(event) => self.on_bridge(event),
            Input::BridgeStats { request, stats } => {
                let reply = request.result(Some(stats::payload(self.stats(), &stats)));
                self.out.send(Stanza::Iq(reply));
            }
            Input::Timeout => self.on_timeout(now),
            // Rooms and sessions survive a short loss of the link; IQs lost with it time out.
            Input::Connected | Input::Disconnected => {}
        }
        self.drop_finished_rooms();
    }

    /// The next thing to do; [`Output::Timeout`] once nothing else is pending.
    pub fn poll_output(&mut self) -> Output {
        if let Some(output) = self.out.pop() {
            return output;
        }
        let rooms = self.rooms.values().filter_map(Conference::next_deadline);
        Output::Timeout(rooms.chain(self.out.next_deadline()).min())
    }

    fn on_stanza(&mut self, stanza: Stanza) {
        match stanza {
            Stanza::Iq(iq) => match &iq.kind {
                IqKind::Get(payload) | IqKind::Set(payload) => {
                    let payload = payload.clone();
                    match iq.to.node() {
                        None => self.on_service_request(iq, &payload),
                        Some(_) => self.on_room_request(iq, &payload),
                    }
                }
                IqKind::Result(payload) => {
                    let payload = payload.clone();
                    self.on_answer(&iq, Ok(payload));
                }
                IqKind::Error(error) => {
                    let error = (**error).clone();
                    self.on_answer(&iq, Err(error));
                }
            },
            Stanza::Message(m) if matches!(m.kind, MessageKind::Normal | MessageKind::Chat) => {
                // Nobody reads messages here: say so rather than let them vanish.
                let reply = m.error(DefinedCondition::ServiceUnavailable, None);
                self.out.send(Stanza::Message(reply));
            }
            Stanza::Message(_) => {}
            Stanza::Presence(p) => self.on_presence(p),
        }
    }

    /// A request to the domain itself.
    fn on_service_request(&mut self, iq: Iq, payload: &Element) {
        let reply = match payload.ns().as_str() {
            disco::NS_INFO => disco::info(&iq, |node| {
                node.is_none().then(|| self.service_description())
            }),
            disco::NS_ITEMS => disco::items(&iq, |node| node.is_none().then(Vec::new)),
            version::NS => version::answer(&iq),
            ping::NS => ping::answer(&iq),
            NS_JINGLE => iq.error(
                DefinedCondition::ServiceUnavailable,
                Some("calls are at ROOM@this-domain"),
            ),
            stats::NS if iq.from.domain().as_str() == self.config.server_domain => {
                return self.out.push(Output::BridgeStats(Box::new(iq)));
            }
            stats::NS => iq.error(DefinedCondition::Forbidden, None),
            _ => iq.error(DefinedCondition::ServiceUnavailable, None),
        };
        self.out.send(Stanza::Iq(reply));
    }

    fn service_description(&self) -> disco::Description {
        let mut features = vec![disco::NS_INFO, disco::NS_ITEMS, version::NS, ping::NS];
        features.extend_from_slice(JINGLE_FEATURES);
        disco::Description {
            identity: ("component", "generic", "Jingle Focus".into()),
            features,
        }
    }

    /// A request to `ROOM@domain`.
    fn on_room_request(&mut self, iq: Iq, payload: &Element) {
        let room = iq.to.to_bare();
        let reply = match payload.ns().as_str() {
            NS_JINGLE => return self.on_jingle(iq, payload),
            commands::NS_COMMANDS => return self.on_command(iq),
            disco::NS_INFO => disco::info(&iq, |node| self.room_description(&room, node)),
            disco::NS_ITEMS => disco::items(&iq, |node| match node {
                None => Some(Vec::new()),
                Some(commands::NS_COMMANDS) => Some(vec![disco::Listed {
                    jid: Jid::from(room.clone()),
                    node: Some(commands::NODE_CONFIG),
                    name: "Call settings",
                }]),
                Some(_) => None,
            }),
            version::NS => version::answer(&iq),
            ping::NS => ping::answer(&iq),
            _ => iq.error(DefinedCondition::ServiceUnavailable, None),
        };
        self.out.send(Stanza::Iq(reply));
    }

    fn room_description(&self, room: &BareJid, node: Option<&str>) -> Option<disco::Description> {
        match node {
            None => {
                let mut features = vec![disco::NS_INFO, disco::NS_ITEMS, commands::NS_COMMANDS];
                features.extend_from_slice(JINGLE_FEATURES);
                Some(disco::Description {
                    identity: (
                        "conference",
                        "audio-video",
                        format!("Call of {}", self.muc_room(room)),
                    ),
                    features,
                })
            }
            Some(commands::NODE_CONFIG) => Some(disco::Description {
                identity: ("automation", "command-node", "Call settings".into()),
                features: vec![commands::NS_COMMANDS, "jabber:x:data"],
            }),
            Some(_) => None,
        }
    }

    /// The MUC room whose call `room` (`ROOM@domain`) is.
    fn muc_room(&self, room: &BareJid) -> BareJid {
        let node = room.node().map(|n| n.as_str()).unwrap_or_default();
        format!("{node}@{}", self.config.muc_service)
            .parse()
            .unwrap_or_else(|_| room.clone())
    }

    fn on_jingle(&mut self, iq: Iq, payload: &Element) {
        let Ok(peer) = iq.from.clone().try_into_full() else {
            let reply = iq.error(
                DefinedCondition::BadRequest,
                Some("Jingle needs a full JID"),
            );
            return self.out.send(Stanza::Iq(reply));
        };
        let jingle = match signalling::read(payload) {
            Ok(jingle) => jingle,
            Err(e) => {
                let reply = iq.error(DefinedCondition::BadRequest, Some(&e.to_string()));
                return self.out.send(Stanza::Iq(reply));
            }
        };
        let room = iq.to.to_bare();
        let initiate = jingle.action == sdp_map::Action::SessionInitiate;
        if initiate && !self.join_rate.allow(&peer.to_bare(), self.out.now) {
            let reply = iq.error(
                DefinedCondition::ResourceConstraint,
                Some("too many requests to join; wait a moment"),
            );
            return self.out.send(Stanza::Iq(reply));
        }
        if !self.rooms.contains_key(&room) {
            if !initiate {
                let reply =
                    signalling::jingle_error(&iq, jingle::JingleCondition::UnknownSession, None);
                return self.out.send(Stanza::Iq(reply));
            }
            if self.rooms.len() >= limits::MAX_ROOMS {
                let reply = iq.error(DefinedCondition::ResourceConstraint, Some("too many calls"));
                return self.out.send(Stanza::Iq(reply));
            }
            self.open_room(&room);
        }
        let now = self.out.now;
        if let Some(conference) = self.rooms.get_mut(&room) {
            conference.on_jingle(iq, peer, jingle, payload, now, &mut self.out);
        }
    }

    fn open_room(&mut self, room: &BareJid) {
        let id = RoomId(self.out.number());
        let own: FullJid = room
            .with_resource_str("focus")
            .expect("'focus' is a valid resource");
        let muc = Occupancy::new(self.muc_room(room), own, &self.config.nick);
        let max = self
            .settings
            .get(room)
            .map(|s| s.max_participants)
            .unwrap_or(self.config.max_participants);
        self.rooms
            .insert(room.clone(), Conference::new(id, room.clone(), muc, max));
        self.room_ids.insert(id, room.clone());
    }

    fn on_command(&mut self, iq: Iq) {
        if let Err(refusal) = commands::read(&iq) {
            return self.out.send(Stanza::Iq(refusal.reply(&iq)));
        }
        let room = iq.to.to_bare();
        let muc_room = self.muc_room(&room);
        self.out.request(
            Jid::from(room),
            Jid::from(muc_room),
            IqKind::Get(commands::owners_query()),
            None,
            Purpose::Owners {
                request: Box::new(iq),
            },
        );
    }

    /// The owner list arrived (or failed) for a command request.
    fn on_owners(&mut self, iq: Iq, answer: Result<Option<Element>, StanzaError>) {
        let owners = match answer {
            Ok(result) => commands::owners(result.as_ref()),
            Err(e) => {
                let (condition, text) = match e.defined_condition {
                    DefinedCondition::ItemNotFound => {
                        (DefinedCondition::ItemNotFound, "no such room")
                    }
                    _ => (
                        DefinedCondition::ServiceUnavailable,
                        "the room's owners cannot be read",
                    ),
                };
                return self.out.send(Stanza::Iq(iq.error(condition, Some(text))));
            }
        };
        if !owners.contains(&iq.from.to_bare()) {
            let reply = iq.error(
                DefinedCondition::Forbidden,
                Some("only the room's owners may change its call settings"),
            );
            return self.out.send(Stanza::Iq(reply));
        }
        let request = match commands::read(&iq) {
            Ok(request) => request,
            Err(refusal) => return self.out.send(Stanza::Iq(refusal.reply(&iq))),
        };
        let room = iq.to.to_bare();
        let current = self.settings.get(&room).copied().unwrap_or(RoomSettings {
            max_participants: self.config.max_participants,
        });
        if let commands::Request::Complete(settings) = request {
            if self.settings.len() >= limits::MAX_ROOMS * 10 && !self.settings.contains_key(&room) {
                let reply = iq.error(
                    DefinedCondition::ResourceConstraint,
                    Some("too many room settings"),
                );
                return self.out.send(Stanza::Iq(reply));
            }
            self.settings.insert(room.clone(), settings);
            if let Some(conference) = self.rooms.get_mut(&room) {
                conference.set_max_participants(settings.max_participants);
            }
        }
        let sessionid = match &iq.kind {
            IqKind::Set(c) => c.attr("sessionid").map(str::to_string),
            _ => None,
        }
        .unwrap_or_else(|| self.out.sid());
        let reply = commands::answer(&iq, &request, current, &sessionid);
        self.out.send(Stanza::Iq(reply));
    }

    /// An IQ result or error: the answer to one of ours, if its id and sender match.
    fn on_answer(&mut self, iq: &Iq, answer: Result<Option<Element>, StanzaError>) {
        let Some(pending) = self.out.pending.remove(&iq.id) else {
            return;
        };
        if pending.to != iq.from {
            // Not from whom we asked: not an answer. Keep waiting for the real one.
            self.out.pending.insert(iq.id.clone(), pending);
            return;
        }
        self.route_answer(pending.room, pending.purpose, answer);
    }

    fn route_answer(
        &mut self,
        room: Option<RoomId>,
        purpose: Purpose,
        answer: Result<Option<Element>, StanzaError>,
    ) {
        if let Purpose::Owners { request } = purpose {
            return self.on_owners(*request, answer);
        }
        let now = self.out.now;
        if let Some(conference) = room
            .and_then(|id| self.room_ids.get(&id))
            .and_then(|jid| self.rooms.get_mut(jid))
        {
            conference.on_answer(purpose, answer, now, &mut self.out);
        }
    }

    fn on_presence(&mut self, presence: Presence) {
        // Room presence reaches us at ROOM@domain/focus.
        let room = presence.to.to_bare();
        let now = self.out.now;
        if let Some(conference) = self.rooms.get_mut(&room) {
            conference.on_presence(&presence, now, &mut self.out);
        }
    }

    fn on_bridge(&mut self, event: Event) {
        let room = match &event {
            Event::DominantSpeaker { room, .. } => Some(*room),
            Event::Answer { endpoint, .. }
            | Event::Offer { endpoint, .. }
            | Event::Connected { endpoint }
            | Event::Closed { endpoint, .. }
            | Event::Refused { endpoint, .. } => self.out.endpoints.get(endpoint).copied(),
        };
        let now = self.out.now;
        if let Some(conference) = room
            .and_then(|id| self.room_ids.get(&id))
            .and_then(|jid| self.rooms.get_mut(jid))
        {
            conference.on_bridge(event, now, &mut self.out);
        }
    }

    fn on_timeout(&mut self, now: Instant) {
        let expired: Vec<String> = self
            .out
            .pending
            .iter()
            .filter(|(_, p)| now >= p.deadline)
            .map(|(id, _)| id.clone())
            .collect();
        for id in expired {
            if let Some(pending) = self.out.pending.remove(&id) {
                let error =
                    crate::stanza::stanza_error(DefinedCondition::RemoteServerTimeout, None);
                self.route_answer(pending.room, pending.purpose, Err(error));
            }
        }
        for conference in self.rooms.values_mut() {
            conference.on_timeout(now, &mut self.out);
        }
    }

    fn drop_finished_rooms(&mut self) {
        let over: Vec<BareJid> = self
            .rooms
            .iter()
            .filter(|(_, c)| c.is_over())
            .map(|(jid, _)| jid.clone())
            .collect();
        for jid in over {
            if let Some(c) = self.rooms.remove(&jid) {
                self.room_ids.remove(&c.id());
                self.out.endpoints.retain(|_, room| *room != c.id());
                self.out.pending.retain(|_, p| p.room != Some(c.id()));
                tracing::info!(room = %jid, "call over");
            }
        }
    }
}

/// An attribute name from a literal (every literal here is a valid XML name).
pub(crate) fn xml_name(name: &'static str) -> NcName {
    NcName::try_from(name).expect("attribute name literals are valid XML names")
}

#[cfg(test)]
mod tests;
