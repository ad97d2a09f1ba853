//! One room's call (XEP-0521): its participants, the Jingle sessions between them and the
//! focus, and the bridge endpoints behind those sessions.
//!
//! A participant joins with a `session-initiate` carrying its own media; the focus accepts
//! it with `<conference-info isfocus='true'/>`. Every other participant's media reaches it
//! on a session the focus initiates, one per publisher (a *link*). Which links should exist
//! is a pure function of who takes part ([`wanted_links`]); after every change the focus
//! opens the missing links and terminates the extra ones ([`diff`]), as Jicofo turns a
//! sources diff into `source-add`/`source-remove`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Instant;

use minidom::Element;
use tokio_xmpp::jid::{BareJid, FullJid};

use jingle::xep0298::{ConferenceInfo, User};
use jingle::{JingleCondition, Session as JingleSession, State};
use sdp_map::{Action, Jingle, Media, ReasonCondition, RidDirection, Role};

use super::bridge::{CloseReason, Command, EndpointId, Event, ParticipantId, RoomId};
use super::limits::{self, ACCEPT_TIMEOUT, JOIN_TIMEOUT, MAX_WAITING};
use super::muc::{JoinState, MucEvent, Occupancy};
use super::outbox::{Outbox, Purpose};
use super::signalling::{self, Parties, NS_CONFERENCE, NS_RTP_INFO};
use crate::stanza::{DefinedCondition, Iq, IqKind, Jid, Presence, Stanza, StanzaError};

/// A link: the session carrying `publisher`'s media to `subscriber`.
pub type LinkKey = (ParticipantId, ParticipantId);

/// The links that should exist: every ready participant receives every other ready
/// participant's media, except what it declined.
pub fn wanted_links<'a>(
    ready: impl Iterator<Item = (ParticipantId, &'a BTreeSet<ParticipantId>)> + Clone,
) -> BTreeSet<LinkKey> {
    let mut wanted = BTreeSet::new();
    for (subscriber, declined) in ready.clone() {
        for (publisher, _) in ready.clone() {
            if publisher != subscriber && !declined.contains(&publisher) {
                wanted.insert((subscriber, publisher));
            }
        }
    }
    wanted
}

/// What to open and what to close to get from `current` to `wanted`.
pub fn diff<'a>(
    wanted: &'a BTreeSet<LinkKey>,
    current: &'a BTreeSet<LinkKey>,
) -> (Vec<LinkKey>, Vec<LinkKey>) {
    (
        wanted.difference(current).copied().collect(),
        current.difference(wanted).copied().collect(),
    )
}

/// Where a participant's own session is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    /// Acknowledged; the bridge is answering its offer.
    Answering,
    /// Our `session-accept` is sent: it publishes and receives.
    Accepted,
}

#[derive(Debug)]
struct Participant {
    jid: FullJid,
    nick: String,
    session: JingleSession,
    endpoint: EndpointId,
    stage: Stage,
    /// The media kind of each of its contents, by content name.
    contents: BTreeMap<String, Media>,
    ssrcs: BTreeSet<u32>,
    /// The last mute state it announced, per media kind.
    muted: BTreeMap<String, bool>,
    /// Publishers whose link it terminated or refused: not offered again.
    declined: BTreeSet<ParticipantId>,
}

/// Where a link is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum LinkStage {
    /// The bridge is making the offer.
    Offering,
    /// `session-initiate` sent, not yet acknowledged.
    Initiating,
    /// Acknowledged; waiting for `session-accept` until the deadline.
    Pending(Instant),
    /// Accepted: media flows.
    Live,
}

#[derive(Debug)]
struct Link {
    sid: String,
    session: JingleSession,
    endpoint: EndpointId,
    stage: LinkStage,
    /// Content name by media kind, from the bridge's offer.
    contents: BTreeMap<String, String>,
}

/// Which session a sid or an endpoint belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SessionRef {
    Own(ParticipantId),
    Link(LinkKey),
}

/// Which sessions of a participant that leaves the call the focus ends with a
/// `session-terminate` (XEP-0166 ends each session by its own terminate; ending one ends no
/// other).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tell {
    /// None: it is out of the room or offline, or refused the focus's `session-accept`.
    Nothing,
    /// The sessions the focus opened toward it: it terminated its own session, not those.
    Callbacks,
    /// All, its own session too: the focus removes it.
    Everything,
}

/// A `session-initiate` waiting for the focus to get into the room.
#[derive(Debug)]
struct Waiting {
    iq: Iq,
    jingle: Jingle,
    since: Instant,
}

/// The sessions a conference opened and terminated, in order: what tests and logs read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    Joined(FullJid),
    Left(FullJid),
    LinkOpened {
        subscriber: FullJid,
        publisher: FullJid,
    },
    LinkClosed {
        subscriber: FullJid,
        publisher: FullJid,
    },
}

/// One room's call.
#[derive(Debug)]
pub struct Conference {
    id: RoomId,
    /// `ROOM@focus.HOST`: the focus's side of every session.
    focus: BareJid,
    muc: Occupancy,
    max_participants: usize,
    participants: BTreeMap<ParticipantId, Participant>,
    links: BTreeMap<LinkKey, Link>,
    sessions: HashMap<(FullJid, String), SessionRef>,
    endpoints: HashMap<EndpointId, SessionRef>,
    waiting: Vec<Waiting>,
    /// Whether we asked the MUC service about the room and wait for the answer.
    checking: bool,
    /// The dominant speaker the bridge named last: a subscriber whose link with it goes live
    /// later learns it then.
    speaker: Option<ParticipantId>,
    changes: Vec<Change>,
}

impl Conference {
    pub fn new(id: RoomId, focus: BareJid, muc: Occupancy, max_participants: usize) -> Conference {
        Conference {
            id,
            focus,
            muc,
            max_participants,
            participants: BTreeMap::new(),
            links: BTreeMap::new(),
            sessions: HashMap::new(),
            endpoints: HashMap::new(),
            waiting: Vec::new(),
            checking: false,
            speaker: None,
            changes: Vec::new(),
        }
    }

    pub fn id(&self) -> RoomId {
        self.id
    }

    /// Nothing left to do: no participant, nobody waiting, not in the room.
    pub fn is_over(&self) -> bool {
        self.participants.is_empty()
            && self.waiting.is_empty()
            && !self.checking
            && self.muc.state() == JoinState::Out
    }

    pub fn participant_count(&self) -> usize {
        self.participants.len()
    }

    pub fn set_max_participants(&mut self, max: usize) {
        self.max_participants = max;
    }

    /// The sessions opened and closed since the last call.
    pub fn take_changes(&mut self) -> Vec<Change> {
        std::mem::take(&mut self.changes)
    }

    /// The sessions (peer, sid) this conference knows.
    pub fn session_count(&self) -> usize {
        self.sessions.len()
    }

    /// When [`Conference::on_timeout`] next has something to do.
    pub fn next_deadline(&self) -> Option<Instant> {
        let waiting = self.waiting.iter().map(|w| w.since + JOIN_TIMEOUT);
        let links = self.links.values().filter_map(|l| match l.stage {
            LinkStage::Pending(deadline) => Some(deadline),
            _ => None,
        });
        waiting.chain(links).min()
    }

    // ---- Jingle from participants ------------------------------------------------------

    /// A `<jingle>` IQ from `peer` to this room's focus JID.
    pub fn on_jingle(
        &mut self,
        iq: Iq,
        peer: FullJid,
        jingle: Jingle,
        payload: &Element,
        now: Instant,
        out: &mut Outbox,
    ) {
        match self
            .sessions
            .get(&(peer.clone(), jingle.sid.clone()))
            .copied()
        {
            None if jingle.action == Action::SessionInitiate => {
                self.on_initiate(iq, peer, jingle, now, out)
            }
            None if self.is_waiting(&peer, &jingle.sid) => {
                self.on_waiting_action(iq, peer, jingle, out)
            }
            None => reply(
                out,
                signalling::jingle_error(&iq, JingleCondition::UnknownSession, None),
            ),
            Some(SessionRef::Own(p)) => self.on_own_action(p, iq, jingle, payload, now, out),
            Some(SessionRef::Link(key)) => self.on_link_action(key, iq, jingle, payload, now, out),
        }
    }

    fn is_waiting(&self, peer: &FullJid, sid: &str) -> bool {
        let from = Jid::from(peer.clone());
        self.waiting
            .iter()
            .any(|w| w.jingle.sid == sid && w.iq.from == from)
    }

    /// An action on a session whose initiate waits for the focus to enter the room: trickled
    /// candidates are acknowledged (the bridge is ICE-lite and needs none), a terminate
    /// withdraws the request.
    fn on_waiting_action(&mut self, iq: Iq, peer: FullJid, jingle: Jingle, out: &mut Outbox) {
        match jingle.action {
            Action::TransportInfo => reply(out, iq.result(None)),
            Action::SessionTerminate => {
                // Its initiate is acknowledged (every IQ gets an answer), then forgotten.
                let from = Jid::from(peer);
                let (gone, kept) = std::mem::take(&mut self.waiting)
                    .into_iter()
                    .partition(|w| w.jingle.sid == jingle.sid && w.iq.from == from);
                self.waiting = kept;
                for w in gone {
                    reply(out, w.iq.result(None));
                }
                reply(out, iq.result(None));
            }
            _ => reply(
                out,
                signalling::jingle_error(&iq, JingleCondition::OutOfOrder, None),
            ),
        }
    }

    fn on_initiate(
        &mut self,
        iq: Iq,
        peer: FullJid,
        jingle: Jingle,
        now: Instant,
        out: &mut Outbox,
    ) {
        if let Some(initiator) = &jingle.initiator {
            if initiator.parse::<FullJid>().ok().as_ref() != Some(&peer) {
                return refuse(
                    out,
                    &iq,
                    DefinedCondition::BadRequest,
                    "the initiator must be the sender",
                );
            }
        }
        if let Err(why) = check_offer(&jingle) {
            return refuse(out, &iq, DefinedCondition::NotAcceptable, &why);
        }
        match self.muc.state() {
            JoinState::In => self.admit(iq, peer, jingle, now, out),
            _ if self.waiting.len() >= MAX_WAITING => refuse(
                out,
                &iq,
                DefinedCondition::ResourceConstraint,
                "too many requests to join this call at once",
            ),
            state => {
                self.waiting.push(Waiting {
                    iq,
                    jingle,
                    since: now,
                });
                if state == JoinState::Out && !self.checking {
                    self.check_room(out);
                }
            }
        }
    }

    /// Asks the MUC service whether the room exists before entering it, so that the focus
    /// never creates a room.
    fn check_room(&mut self, out: &mut Outbox) {
        self.checking = true;
        let query = Element::bare("query", super::disco::NS_INFO);
        out.request(
            Jid::from(self.own_jid()),
            Jid::from(self.muc.room().clone()),
            IqKind::Get(query),
            Some(self.id),
            Purpose::RoomInfo,
        );
    }

    fn own_jid(&self) -> FullJid {
        self.focus
            .with_resource_str("focus")
            .expect("'focus' is a valid resource")
    }

    /// A join request, now that the occupant list is known.
    fn admit(&mut self, iq: Iq, peer: FullJid, jingle: Jingle, _now: Instant, out: &mut Outbox) {
        let Some(occupant) = self.muc.occupant(&peer) else {
            return refuse(
                out,
                &iq,
                DefinedCondition::Forbidden,
                &format!("{peer} is not an occupant of {}", self.muc.room()),
            );
        };
        let nick = occupant.nick.clone();
        // The same device joining again (a reload that kept its resource): it replaces itself.
        if let Some(old) = self.participant_by_jid(&peer) {
            self.remove_participant(
                old,
                ReasonCondition::AlternativeSession,
                Tell::Everything,
                out,
            );
        }
        if self.participants.len() >= self.max_participants {
            return refuse(
                out,
                &iq,
                DefinedCondition::ResourceConstraint,
                &format!("the call is full ({} participants)", self.max_participants),
            );
        }
        let ssrcs: BTreeSet<u32> = jingle
            .session
            .contents
            .iter()
            .flat_map(|c| c.sources.iter().map(|s| s.ssrc))
            .collect();
        if let Some(taken) = self
            .participants
            .values()
            .find_map(|p| p.ssrcs.intersection(&ssrcs).next().copied())
        {
            return refuse(
                out,
                &iq,
                DefinedCondition::NotAcceptable,
                &format!("ssrc {taken} is already used in this call"),
            );
        }
        reply(out, iq.result(None));
        let id = ParticipantId(out.number());
        let endpoint = out.endpoint(self.id);
        let contents = jingle
            .session
            .contents
            .iter()
            .filter_map(|c| Some((c.mid.clone(), c.media.clone()?)))
            .collect();
        self.sessions
            .insert((peer.clone(), jingle.sid.clone()), SessionRef::Own(id));
        self.endpoints.insert(endpoint, SessionRef::Own(id));
        out.bridge(Command::Publish {
            endpoint,
            room: self.id,
            participant: id,
            offer: signalling::sdp_of(&jingle),
        });
        self.changes.push(Change::Joined(peer.clone()));
        self.participants.insert(
            id,
            Participant {
                jid: peer,
                nick,
                session: JingleSession::initiated(jingle.sid, Role::Responder),
                endpoint,
                stage: Stage::Answering,
                contents,
                ssrcs,
                muted: BTreeMap::new(),
                declined: BTreeSet::new(),
            },
        );
    }

    fn participant_by_jid(&self, jid: &FullJid) -> Option<ParticipantId> {
        self.participants
            .iter()
            .find(|(_, p)| &p.jid == jid)
            .map(|(id, _)| *id)
    }

    /// An action on a participant's own session.
    fn on_own_action(
        &mut self,
        id: ParticipantId,
        iq: Iq,
        jingle: Jingle,
        payload: &Element,
        _now: Instant,
        out: &mut Outbox,
    ) {
        let Some(p) = self.participants.get_mut(&id) else {
            return;
        };
        if let Err(condition) = p.session.receive(jingle.action) {
            return reply(out, signalling::jingle_error(&iq, condition, None));
        }
        match jingle.action {
            Action::SessionTerminate => {
                reply(out, iq.result(None));
                // It ended its own session only: the focus ends the ones it opened toward it.
                self.remove_participant(id, ReasonCondition::Success, Tell::Callbacks, out);
            }
            Action::TransportInfo => {
                // The bridge is ICE-lite: the participant's checks tell it the address.
                reply(out, iq.result(None));
            }
            Action::SessionInfo => self.on_own_info(id, iq, payload, out),
            _ => refuse(
                out,
                &iq,
                DefinedCondition::FeatureNotImplemented,
                "the focus does not renegotiate a participant's session",
            ),
        }
    }

    /// `session-info` on a participant's own session: mute state, relayed to everyone who
    /// receives its media.
    fn on_own_info(&mut self, id: ParticipantId, iq: Iq, payload: &Element, out: &mut Outbox) {
        let mut changes = Vec::new();
        for el in signalling::info_payloads(payload) {
            if el.ns() != NS_RTP_INFO {
                return reply(
                    out,
                    signalling::jingle_error(&iq, JingleCondition::UnsupportedInfo, None),
                );
            }
            match el.name() {
                "mute" | "unmute" => {
                    changes.push((el.attr("name").map(str::to_string), el.name() == "mute"))
                }
                // Informational only in a conference.
                "active" | "hold" | "unhold" | "ringing" => {}
                _ => {
                    return reply(
                        out,
                        signalling::jingle_error(&iq, JingleCondition::UnsupportedInfo, None),
                    )
                }
            }
        }
        reply(out, iq.result(None));
        let Some(p) = self.participants.get_mut(&id) else {
            return;
        };
        let mut kinds = Vec::new();
        for (name, muted) in changes {
            let affected: Vec<String> = match &name {
                Some(name) => p
                    .contents
                    .get(name)
                    .map(|m| vec![m.as_str().to_string()])
                    .unwrap_or_default(),
                None => p
                    .contents
                    .values()
                    .map(|m| m.as_str().to_string())
                    .collect(),
            };
            for kind in affected {
                p.muted.insert(kind.clone(), muted);
                kinds.push((kind, muted));
            }
        }
        let subscribers: Vec<LinkKey> = self
            .links
            .iter()
            .filter(|((_, publisher), l)| *publisher == id && l.stage == LinkStage::Live)
            .map(|(k, _)| *k)
            .collect();
        for key in subscribers {
            self.send_mutes(key, &kinds, out);
        }
    }

    /// Tells a link's subscriber that the publisher (un)muted media of these kinds.
    fn send_mutes(&mut self, key: LinkKey, kinds: &[(String, bool)], out: &mut Outbox) {
        let (Some(link), Some(sub)) = (self.links.get(&key), self.participants.get(&key.0)) else {
            return;
        };
        let payloads: Vec<Element> = kinds
            .iter()
            .filter_map(|(kind, muted)| {
                let name = link.contents.get(kind)?;
                Some(
                    Element::builder(if *muted { "mute" } else { "unmute" }, NS_RTP_INFO)
                        .attr(attr("creator"), "initiator")
                        .attr(attr("name"), name.as_str())
                        .build(),
                )
            })
            .collect();
        if payloads.is_empty() {
            return;
        }
        let parties = Parties::offered(&link.sid, &self.focus, &sub.jid);
        match signalling::session_info(&parties, payloads) {
            Ok(el) => self.send_set(sub.jid.clone(), el, Purpose::Notice, out),
            Err(e) => tracing::error!(error = %e, "cannot write a session-info"),
        }
    }

    /// An action on a link, from its subscriber.
    fn on_link_action(
        &mut self,
        key: LinkKey,
        iq: Iq,
        jingle: Jingle,
        payload: &Element,
        _now: Instant,
        out: &mut Outbox,
    ) {
        let Some(link) = self.links.get_mut(&key) else {
            return;
        };
        if let Err(condition) = link.session.receive(jingle.action) {
            return reply(out, signalling::jingle_error(&iq, condition, None));
        }
        match jingle.action {
            Action::SessionAccept => {
                reply(out, iq.result(None));
                link.stage = LinkStage::Live;
                let endpoint = link.endpoint;
                out.bridge(Command::Answer {
                    endpoint,
                    answer: signalling::sdp_of(&jingle),
                });
                // A late subscriber learns what the publisher has muted.
                let muted: Vec<(String, bool)> = self
                    .participants
                    .get(&key.1)
                    .map(|p| {
                        p.muted
                            .iter()
                            .filter(|(_, m)| **m)
                            .map(|(k, m)| (k.clone(), *m))
                            .collect()
                    })
                    .unwrap_or_default();
                self.send_mutes(key, &muted, out);
                // ... and whether the publisher is the one speaking.
                if self.speaker == Some(key.1) {
                    self.send_speaker(key, out);
                }
            }
            Action::SessionTerminate => {
                reply(out, iq.result(None));
                tracing::info!(room = %self.focus, reason = ?jingle.reason, "a participant ended a session carrying someone's media");
                if let Some(sub) = self.participants.get_mut(&key.0) {
                    sub.declined.insert(key.1);
                }
                self.close_link(key, None, out);
            }
            Action::TransportInfo => reply(out, iq.result(None)),
            Action::SessionInfo => {
                let mut max_height = None;
                for el in signalling::info_payloads(payload) {
                    match (el.ns().as_str(), el.name()) {
                        (NS_CONFERENCE, "video-constraints") => {
                            max_height = el.attr("max-height").and_then(|h| h.parse::<u32>().ok());
                            if max_height.is_none() {
                                return refuse(
                                    out,
                                    &iq,
                                    DefinedCondition::BadRequest,
                                    "max-height must be a number",
                                );
                            }
                        }
                        (NS_RTP_INFO, _) => {}
                        _ => {
                            return reply(
                                out,
                                signalling::jingle_error(
                                    &iq,
                                    JingleCondition::UnsupportedInfo,
                                    None,
                                ),
                            )
                        }
                    }
                }
                reply(out, iq.result(None));
                if let Some(max_height) = max_height {
                    out.bridge(Command::Constrain {
                        endpoint: link.endpoint,
                        max_height,
                    });
                }
            }
            _ => refuse(
                out,
                &iq,
                DefinedCondition::FeatureNotImplemented,
                "the focus does not renegotiate this session",
            ),
        }
    }

    // ---- The diff ---------------------------------------------------------------------------

    /// Opens the links that should exist and closes the others.
    fn reconcile(&mut self, out: &mut Outbox) {
        let ready = self
            .participants
            .iter()
            .filter(|(_, p)| p.stage == Stage::Accepted)
            .map(|(id, p)| (*id, &p.declined));
        let wanted = wanted_links(ready);
        let current: BTreeSet<LinkKey> = self.links.keys().copied().collect();
        let (open, close) = diff(&wanted, &current);
        for key in close {
            self.close_link(key, Some(ReasonCondition::Success), out);
        }
        for key in open {
            self.open_link(key, out);
        }
    }

    fn open_link(&mut self, key: LinkKey, out: &mut Outbox) {
        let (Some(sub), Some(publ)) =
            (self.participants.get(&key.0), self.participants.get(&key.1))
        else {
            return;
        };
        let sid = out.sid();
        let endpoint = out.endpoint(self.id);
        self.sessions
            .insert((sub.jid.clone(), sid.clone()), SessionRef::Link(key));
        self.endpoints.insert(endpoint, SessionRef::Link(key));
        self.changes.push(Change::LinkOpened {
            subscriber: sub.jid.clone(),
            publisher: publ.jid.clone(),
        });
        self.links.insert(
            key,
            Link {
                session: JingleSession::initiated(sid.clone(), Role::Initiator),
                sid,
                endpoint,
                stage: LinkStage::Offering,
                contents: BTreeMap::new(),
            },
        );
        out.bridge(Command::Subscribe {
            endpoint,
            room: self.id,
            subscriber: key.0,
            publisher: key.1,
        });
    }

    /// Removes a link; tells the subscriber with `reason` if the session exists on its side.
    fn close_link(&mut self, key: LinkKey, reason: Option<ReasonCondition>, out: &mut Outbox) {
        let Some(mut link) = self.links.remove(&key) else {
            return;
        };
        self.endpoints.remove(&link.endpoint);
        out.bridge(Command::Close {
            endpoint: link.endpoint,
        });
        let sub_jid = self.participants.get(&key.0).map(|p| p.jid.clone());
        let pub_jid = self.participants.get(&key.1).map(|p| p.jid.clone());
        tracing::debug!(room = %self.focus, subscriber = ?sub_jid, publisher = ?pub_jid, ?reason,
            stage = ?link.stage, "link closed");
        if let (Some(sub), Some(publ)) = (&sub_jid, &pub_jid) {
            self.changes.push(Change::LinkClosed {
                subscriber: sub.clone(),
                publisher: publ.clone(),
            });
        }
        let Some(sub) = sub_jid else { return };
        self.sessions.remove(&(sub.clone(), link.sid.clone()));
        let exists_there = !matches!(link.stage, LinkStage::Offering);
        if let (Some(reason), true) = (reason, exists_there) {
            if link.session.send(Action::SessionTerminate).is_ok() {
                let parties = Parties::offered(&link.sid, &self.focus, &sub);
                match signalling::terminate(&parties, reason, None) {
                    Ok(el) => self.send_set(sub, el, Purpose::Notice, out),
                    Err(e) => tracing::error!(error = %e, "cannot write a session-terminate"),
                }
            }
        }
    }

    /// Removes a participant with everything that carried its media or brought it media;
    /// `tell` says which of its sessions it hears a session-terminate (with `reason`) for.
    fn remove_participant(
        &mut self,
        id: ParticipantId,
        reason: ReasonCondition,
        tell: Tell,
        out: &mut Outbox,
    ) {
        if !self.participants.contains_key(&id) {
            return;
        }
        let theirs: Vec<LinkKey> = self
            .links
            .keys()
            .filter(|(sub, publ)| *sub == id || *publ == id)
            .copied()
            .collect();
        for key in theirs {
            let why = match (key.0 == id, tell) {
                // Its media leaves everyone else's call.
                (false, _) => Some(ReasonCondition::Gone),
                (true, Tell::Callbacks | Tell::Everything) => Some(reason),
                (true, Tell::Nothing) => None,
            };
            self.close_link(key, why, out);
        }
        let Some(mut p) = self.participants.remove(&id) else {
            return;
        };
        self.sessions
            .remove(&(p.jid.clone(), p.session.sid().to_string()));
        self.endpoints.remove(&p.endpoint);
        out.bridge(Command::Close {
            endpoint: p.endpoint,
        });
        self.changes.push(Change::Left(p.jid.clone()));
        if tell == Tell::Everything && p.session.send(Action::SessionTerminate).is_ok() {
            let parties = Parties::published(p.session.sid(), &p.jid, &self.focus);
            match signalling::terminate(&parties, reason, None) {
                Ok(el) => self.send_set(p.jid.clone(), el, Purpose::Notice, out),
                Err(e) => tracing::error!(error = %e, "cannot write a session-terminate"),
            }
        }
        for other in self.participants.values_mut() {
            other.declined.remove(&id);
        }
        if self.speaker == Some(id) {
            self.speaker = None;
        }
        tracing::info!(room = %self.focus, participant = %p.jid, ?reason, "left the call");
        self.leave_if_idle(out);
    }

    /// Leaves the room once nobody takes part or waits.
    fn leave_if_idle(&mut self, out: &mut Outbox) {
        if self.participants.is_empty()
            && self.waiting.is_empty()
            && !self.checking
            && self.muc.state() != JoinState::Out
        {
            let leave = self.muc.leave();
            out.send(Stanza::Presence(leave));
        }
    }

    // ---- Answers to our IQs -----------------------------------------------------------------

    /// The answer to an IQ this conference sent.
    pub fn on_answer(
        &mut self,
        purpose: Purpose,
        answer: Result<Option<Element>, StanzaError>,
        now: Instant,
        out: &mut Outbox,
    ) {
        match purpose {
            Purpose::Notice | Purpose::Owners { .. } => {}
            Purpose::RoomInfo => {
                self.checking = false;
                match answer {
                    Ok(_) => {
                        let join = self.muc.join();
                        out.send(Stanza::Presence(join));
                    }
                    Err(error) => {
                        let condition = match error.defined_condition {
                            DefinedCondition::ItemNotFound => DefinedCondition::ItemNotFound,
                            _ => DefinedCondition::ServiceUnavailable,
                        };
                        self.refuse_waiting(condition, "no such room", out);
                    }
                }
            }
            Purpose::Accept { sid } => {
                if answer.is_err() {
                    if let Some(id) = self.participant_by_sid(&sid) {
                        self.remove_participant(
                            id,
                            ReasonCondition::GeneralError,
                            Tell::Nothing,
                            out,
                        );
                    }
                }
            }
            Purpose::Initiate { sid } => {
                let Some(key) = self
                    .links
                    .iter()
                    .find(|(_, l)| l.sid == sid)
                    .map(|(k, _)| *k)
                else {
                    return;
                };
                match answer {
                    Ok(_) => {
                        if let Some(link) = self.links.get_mut(&key) {
                            if link.stage == LinkStage::Initiating {
                                link.stage = LinkStage::Pending(now + ACCEPT_TIMEOUT);
                            }
                        }
                    }
                    Err(_) => {
                        // It does not want this session: do not offer it again.
                        if let Some(sub) = self.participants.get_mut(&key.0) {
                            sub.declined.insert(key.1);
                        }
                        if let Some(link) = self.links.get_mut(&key) {
                            link.session.end();
                        }
                        self.close_link(key, None, out);
                    }
                }
            }
        }
    }

    fn participant_by_sid(&self, sid: &str) -> Option<ParticipantId> {
        self.participants
            .iter()
            .find(|(_, p)| p.session.sid() == sid)
            .map(|(id, _)| *id)
    }

    fn refuse_waiting(&mut self, condition: DefinedCondition, text: &str, out: &mut Outbox) {
        for w in self.waiting.drain(..) {
            refuse(out, &w.iq, condition.clone(), text);
        }
    }

    // ---- The room -------------------------------------------------------------------------

    /// A presence from the MUC room.
    pub fn on_presence(&mut self, presence: &Presence, now: Instant, out: &mut Outbox) {
        let (event, retry) = self.muc.handle(presence);
        if let Some(retry) = retry {
            out.send(Stanza::Presence(retry));
        }
        match event {
            Some(MucEvent::Joined) => {
                tracing::info!(room = %self.muc.room(), nick = self.muc.nick(), "in the room");
                for w in std::mem::take(&mut self.waiting) {
                    let Some(peer) = w.iq.from.clone().try_into_full().ok() else {
                        continue;
                    };
                    self.admit(w.iq, peer, w.jingle, now, out);
                }
                self.leave_if_idle(out);
            }
            Some(MucEvent::JoinRefused(condition)) => {
                tracing::warn!(room = %self.muc.room(), ?condition,
                    "the room refused the focus (is the focus domain a MUC service admin?)");
                let condition = match condition {
                    DefinedCondition::ItemNotFound => DefinedCondition::ItemNotFound,
                    _ => DefinedCondition::Forbidden,
                };
                self.refuse_waiting(condition, "the focus cannot enter this room", out);
            }
            Some(MucEvent::Left(occupant)) => {
                if let Some(id) = occupant
                    .real
                    .as_ref()
                    .and_then(|j| self.participant_by_jid(j))
                {
                    self.remove_participant(id, ReasonCondition::Gone, Tell::Nothing, out);
                }
            }
            Some(MucEvent::Expelled) => {
                let ids: Vec<ParticipantId> = self.participants.keys().copied().collect();
                for id in ids {
                    self.remove_participant(id, ReasonCondition::Gone, Tell::Everything, out);
                }
                self.refuse_waiting(DefinedCondition::ItemNotFound, "the room is gone", out);
            }
            None => {}
        }
    }

    // ---- The bridge -------------------------------------------------------------------------

    pub fn on_bridge(&mut self, event: Event, now: Instant, out: &mut Outbox) {
        match event {
            Event::Answer { endpoint, sdp } => {
                let Some(SessionRef::Own(id)) = self.endpoints.get(&endpoint).copied() else {
                    return;
                };
                self.on_publish_answer(id, &sdp, out);
            }
            Event::Offer { endpoint, sdp } => {
                let Some(SessionRef::Link(key)) = self.endpoints.get(&endpoint).copied() else {
                    return;
                };
                self.on_link_offer(key, &sdp, now, out);
            }
            Event::Connected { endpoint } => {
                tracing::debug!(room = %self.focus, ?endpoint, "media connected");
            }
            Event::Closed { endpoint, reason } => {
                let Some(session) = self.endpoints.get(&endpoint).copied() else {
                    return;
                };
                if reason != CloseReason::Failed {
                    return;
                }
                tracing::info!(room = %self.focus, %endpoint, "media failed");
                match session {
                    SessionRef::Own(id) => self.remove_participant(
                        id,
                        ReasonCondition::ConnectivityError,
                        Tell::Everything,
                        out,
                    ),
                    SessionRef::Link(key) => {
                        if let Some(sub) = self.participants.get_mut(&key.0) {
                            sub.declined.insert(key.1);
                        }
                        self.close_link(key, Some(ReasonCondition::ConnectivityError), out);
                    }
                }
            }
            Event::Refused { endpoint, error } => {
                let Some(session) = self.endpoints.get(&endpoint).copied() else {
                    return;
                };
                tracing::warn!(room = %self.focus, %endpoint, %error, "the bridge refused");
                match session {
                    SessionRef::Own(id) => self.remove_participant(
                        id,
                        ReasonCondition::FailedApplication,
                        Tell::Everything,
                        out,
                    ),
                    SessionRef::Link(key) => {
                        if let Some(sub) = self.participants.get_mut(&key.0) {
                            sub.declined.insert(key.1);
                        }
                        self.close_link(key, Some(ReasonCondition::FailedApplication), out);
                    }
                }
            }
            Event::DominantSpeaker { participant, .. } => {
                self.speaker = participant;
                let Some(speaker) = participant else { return };
                let keys: Vec<LinkKey> = self
                    .links
                    .iter()
                    .filter(|((_, p), l)| *p == speaker && l.stage == LinkStage::Live)
                    .map(|(k, _)| *k)
                    .collect();
                for key in keys {
                    self.send_speaker(key, out);
                }
            }
        }
    }

    /// Tells a link's subscriber that the link's publisher is the dominant speaker.
    fn send_speaker(&self, key: LinkKey, out: &mut Outbox) {
        let (Some(link), Some(sub)) = (self.links.get(&key), self.participants.get(&key.0)) else {
            return;
        };
        let parties = Parties::offered(&link.sid, &self.focus, &sub.jid);
        let speaker = vec![Element::bare("dominant-speaker", NS_CONFERENCE)];
        match signalling::session_info(&parties, speaker) {
            Ok(el) => self.send_set(sub.jid.clone(), el, Purpose::Notice, out),
            Err(e) => tracing::error!(error = %e, "cannot write a session-info"),
        }
    }

    fn on_publish_answer(&mut self, id: ParticipantId, sdp: &str, out: &mut Outbox) {
        let Some(p) = self.participants.get_mut(&id) else {
            return;
        };
        if p.stage != Stage::Answering || p.session.send(Action::SessionAccept).is_err() {
            return;
        }
        let parties = Parties::published(p.session.sid(), &p.jid, &self.focus);
        match signalling::description(
            Action::SessionAccept,
            &parties,
            sdp,
            &ConferenceInfo::focus(),
        ) {
            Ok(el) => {
                p.stage = Stage::Accepted;
                let (to, sid) = (p.jid.clone(), p.session.sid().to_string());
                self.send_set(to, el, Purpose::Accept { sid }, out);
                self.reconcile(out);
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot answer a participant");
                self.remove_participant(
                    id,
                    ReasonCondition::FailedApplication,
                    Tell::Everything,
                    out,
                );
            }
        }
    }

    fn on_link_offer(&mut self, key: LinkKey, sdp: &str, _now: Instant, out: &mut Outbox) {
        let (Some(sub), Some(publ)) =
            (self.participants.get(&key.0), self.participants.get(&key.1))
        else {
            return;
        };
        let Some(link) = self.links.get_mut(&key) else {
            return;
        };
        if link.stage != LinkStage::Offering {
            return;
        }
        let parties = Parties::offered(&link.sid, &self.focus, &sub.jid);
        let user = User::xmpp(&publ.jid.to_bare().to_string(), Some(publ.nick.clone()));
        match signalling::description(
            Action::SessionInitiate,
            &parties,
            sdp,
            &ConferenceInfo::focus_for(user),
        ) {
            Ok(el) => {
                link.contents = sdp_map::Session::parse_sdp(sdp)
                    .map(|s| {
                        s.contents
                            .into_iter()
                            .filter_map(|c| Some((c.media?.as_str().to_string(), c.mid)))
                            .collect()
                    })
                    .unwrap_or_default();
                link.stage = LinkStage::Initiating;
                let sid = link.sid.clone();
                let to = sub.jid.clone();
                self.send_set(to, el, Purpose::Initiate { sid }, out);
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot offer media to a participant");
                if let Some(sub) = self.participants.get_mut(&key.0) {
                    sub.declined.insert(key.1);
                }
                self.close_link(key, None, out);
            }
        }
    }

    // ---- Time -------------------------------------------------------------------------------

    pub fn on_timeout(&mut self, now: Instant, out: &mut Outbox) {
        let (expired, waiting): (Vec<Waiting>, Vec<Waiting>) = std::mem::take(&mut self.waiting)
            .into_iter()
            .partition(|w| now >= w.since + JOIN_TIMEOUT);
        self.waiting = waiting;
        for w in expired {
            refuse(
                out,
                &w.iq,
                DefinedCondition::RemoteServerTimeout,
                "the room did not let the focus in",
            );
        }
        let late: Vec<LinkKey> = self
            .links
            .iter()
            .filter(|(_, l)| matches!(l.stage, LinkStage::Pending(d) if now >= d))
            .map(|(k, _)| *k)
            .collect();
        for key in late {
            if let Some(sub) = self.participants.get_mut(&key.0) {
                sub.declined.insert(key.1);
            }
            self.close_link(key, Some(ReasonCondition::Timeout), out);
        }
        self.leave_if_idle(out);
    }

    fn send_set(&self, to: FullJid, el: Element, purpose: Purpose, out: &mut Outbox) {
        out.set(
            Jid::from(self.focus.clone()),
            Jid::from(to),
            el,
            Some(self.id),
            purpose,
        );
    }

    /// Whether the session `sid` from `peer` is one of this conference's (for answers).
    pub fn state_of(&self, peer: &FullJid, sid: &str) -> Option<State> {
        match self.sessions.get(&(peer.clone(), sid.to_string()))? {
            SessionRef::Own(id) => self.participants.get(id).map(|p| p.session.state()),
            SessionRef::Link(key) => self.links.get(key).map(|l| l.session.state()),
        }
    }
}

/// Checks what a participant offers before anything is set up for it.
fn check_offer(jingle: &Jingle) -> Result<(), String> {
    let contents = &jingle.session.contents;
    if contents.is_empty() {
        return Err("a session-initiate needs at least one content".into());
    }
    if contents.len() > limits::MAX_CONTENTS {
        return Err(format!(
            "at most {} contents per participant",
            limits::MAX_CONTENTS
        ));
    }
    let sources: usize = contents.iter().map(|c| c.sources.len()).sum();
    if sources > limits::MAX_SOURCES {
        return Err(format!(
            "at most {} sources per participant",
            limits::MAX_SOURCES
        ));
    }
    for c in contents {
        match c.media {
            Some(Media::Audio | Media::Video) => {}
            _ => {
                return Err(format!(
                    "content '{}': a conference carries audio and video only",
                    c.mid
                ))
            }
        }
        // the layers it sends, from sdp-map's typed <rid> elements
        let layers = c
            .rids
            .iter()
            .filter(|r| r.direction == RidDirection::Send)
            .count();
        if layers > limits::MAX_LAYERS {
            return Err(format!(
                "content '{}': at most {} simulcast layers, not {layers}",
                c.mid,
                limits::MAX_LAYERS
            ));
        }
        if layers > 0 && c.media == Some(Media::Audio) {
            return Err(format!(
                "content '{}': audio has no simulcast layers",
                c.mid
            ));
        }
    }
    Ok(())
}

fn reply(out: &mut Outbox, iq: Iq) {
    out.send(Stanza::Iq(iq));
}

fn refuse(out: &mut Outbox, iq: &Iq, condition: DefinedCondition, text: &str) {
    reply(out, iq.error(condition, Some(text)));
}

fn attr(name: &'static str) -> minidom::rxml::NcName {
    crate::focus::xml_name(name)
}

#[cfg(test)]
mod tests;
