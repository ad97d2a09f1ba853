//! Sans-IO tests of group calls: the focus with a simulated MUC room, bridge and
//! participants, time passed in. Each test checks the exact sessions the focus opens
//! (`session-initiate` carrying whose media to whom) and terminates.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::{Duration, Instant};

use minidom::Element;
use tokio_xmpp::jid::FullJid;

use super::super::bridge::{CloseReason, Command, EndpointId, Event};
use super::super::tests::focus;
use super::super::{Focus, Input, Output};
use super::*;
use crate::focus::commands;
use crate::stanza::{Iq, IqKind, Jid, Presence, PresenceKind, Stanza};

const ROOM: &str = "room@focus.example";
const MUC_ROOM: &str = "room@conference.example";
const NS_JINGLE: &str = "urn:xmpp:jingle:1";
const OFFER: &str =
    include_str!("../../../sdp-map/tests/vectors/chromium-156-audio-video-offer.sdp");
const ANSWER: &str =
    include_str!("../../../sdp-map/tests/vectors/chromium-156-audio-video-answer.sdp");

/// A participant's offer with its own SSRCs (`base` + the browser's, so no two collide).
fn offer_jingle(sid: &str, from: &str, base: u32) -> Element {
    offer_with_layers(sid, from, base, 0)
}

/// [`offer_jingle`] with `layers` simulcast layers on its video.
fn offer_with_layers(sid: &str, from: &str, base: u32, layers: usize) -> Element {
    let mut session = sdp_map::Session::parse_sdp(OFFER).expect("vector");
    if let Some(video) = session
        .contents
        .iter_mut()
        .find(|c| c.media == Some(sdp_map::Media::Video))
    {
        video.rids = (0..layers)
            .map(|i| sdp_map::Rid {
                id: format!("l{i}"),
                direction: sdp_map::RidDirection::Send,
                payload_types: Vec::new(),
                restrictions: Vec::new(),
            })
            .collect();
    }
    for c in &mut session.contents {
        for s in &mut c.sources {
            s.ssrc = s.ssrc.wrapping_add(base);
        }
        for g in &mut c.ssrc_groups {
            for s in &mut g.ssrcs {
                *s = s.wrapping_add(base);
            }
        }
    }
    sdp_map::Jingle {
        initiator: Some(from.into()),
        responder: Some(ROOM.into()),
        session,
        ..sdp_map::Jingle::new(Action::SessionInitiate, sid)
    }
    .to_element()
    .expect("element")
}

fn jingle_of(action: Action, sid: &str, payloads: Vec<Element>) -> Element {
    let mut jingle = sdp_map::Jingle::new(action, sid);
    for p in &payloads {
        jingle
            .extensions
            .push(sdp_map::Extension::from_element(p).expect("payload"));
    }
    jingle.to_element().expect("element")
}

fn answer_jingle(sid: &str) -> Element {
    sdp_map::Jingle::new(Action::SessionAccept, sid)
        .with_sdp(ANSWER)
        .expect("vector")
        .to_element()
        .expect("element")
}

/// How a simulated participant treats the sessions the focus offers it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Behaviour {
    /// Acknowledges and accepts every session at once.
    Accepts,
    /// Acknowledges offered sessions but never accepts them.
    NeverAccepts,
    /// Holds offered sessions (acknowledged) until the test accepts them.
    Holds,
}

/// What the focus did, as the participants and the bridge saw it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Seen {
    /// A session carrying `publisher`'s media offered to `to`.
    Offered { to: String, publisher: String },
    /// A session terminated toward `to` (whose media, if it is a link) with a reason.
    Terminated {
        to: String,
        publisher: Option<String>,
        reason: String,
    },
    /// A participant's own session accepted.
    Accepted { to: String },
    /// A `session-info` toward `to` on the link with `publisher`'s media: its payloads as
    /// `name:attribute-name`.
    Info {
        to: String,
        publisher: Option<String>,
        payloads: Vec<String>,
    },
}

/// The focus with a simulated room, bridge and participants.
struct World {
    focus: Focus,
    now: Instant,
    /// Who is in the MUC room: nick -> real JID.
    occupants: BTreeMap<String, FullJid>,
    behaviour: BTreeMap<String, Behaviour>,
    /// Sessions the focus offered, by sid: (to, publisher).
    links: BTreeMap<String, (String, String)>,
    held: Vec<(String, String)>,
    /// Whether the bridge answers commands.
    bridge_answers: bool,
    /// Endpoints the bridge holds.
    endpoints: BTreeSet<EndpointId>,
    seen: Vec<Seen>,
    /// Replies to stanzas the participants sent, by IQ id.
    replies: BTreeMap<String, Iq>,
    next_id: u32,
    /// The MUC room's owners (bare JIDs).
    owners: Vec<String>,
    /// The participants the bridge was asked to take media from, in order.
    publishers: Vec<ParticipantId>,
}

impl World {
    fn new() -> World {
        World {
            focus: focus(),
            now: Instant::now(),
            occupants: BTreeMap::new(),
            behaviour: BTreeMap::new(),
            links: BTreeMap::new(),
            held: Vec::new(),
            bridge_answers: true,
            endpoints: BTreeSet::new(),
            seen: Vec::new(),
            replies: BTreeMap::new(),
            next_id: 0,
            owners: vec!["alice@example".into()],
            publishers: Vec::new(),
        }
    }

    fn jid(s: &str) -> Jid {
        Jid::new(s).expect("test JID")
    }

    /// `nick` enters the MUC room as `real` (the focus sees it if it is there).
    fn enter_muc(&mut self, nick: &str, real: &str) {
        self.occupants.insert(nick.into(), real.parse().unwrap());
        self.behaviour
            .entry(real.into())
            .or_insert(Behaviour::Accepts);
        let p = occupant_presence(nick, real, PresenceKind::Available, false);
        self.deliver(vec![Input::Stanza(Stanza::Presence(p))]);
    }

    /// `nick` leaves the MUC room (or goes offline).
    fn leave_muc(&mut self, nick: &str) {
        let real = self
            .occupants
            .remove(nick)
            .expect("an occupant")
            .to_string();
        self.forget_sessions_of(&real);
        let p = occupant_presence(nick, &real, PresenceKind::Unavailable, false);
        self.deliver(vec![Input::Stanza(Stanza::Presence(p))]);
    }

    /// `who` asks to join the call; returns the reply to its session-initiate.
    fn join(&mut self, who: &str, sid: &str, base: u32) -> Iq {
        let id = self.iq(who, IqKind::Set(offer_jingle(sid, who, base)));
        self.replies
            .remove(&id)
            .expect("an answer to session-initiate")
    }

    /// A participant that leaves drops its side of every session.
    fn forget_sessions_of(&mut self, who: &str) {
        self.links.retain(|_, (to, _)| to != who);
    }

    /// `who` leaves the call by terminating its own session `sid`; returns the reply.
    fn hang_up(&mut self, who: &str, sid: &str) -> Iq {
        self.forget_sessions_of(who);
        self.action(who, Action::SessionTerminate, sid, Vec::new())
    }

    /// `who` sends a Jingle action on session `sid`; returns the focus's reply.
    fn action(&mut self, who: &str, action: Action, sid: &str, payloads: Vec<Element>) -> Iq {
        let id = self.iq(who, IqKind::Set(jingle_of(action, sid, payloads)));
        self.replies.remove(&id).expect("an answer")
    }

    fn iq(&mut self, from: &str, kind: IqKind) -> String {
        self.next_id += 1;
        let id = format!("p{}", self.next_id);
        let iq = Iq {
            id: id.clone(),
            from: Self::jid(from),
            to: Self::jid(ROOM),
            kind,
        };
        self.deliver(vec![Input::Stanza(Stanza::Iq(iq))]);
        id
    }

    /// Moves time on and lets the focus act on its timers.
    fn advance(&mut self, by: Duration) {
        self.now += by;
        self.deliver(vec![Input::Timeout]);
    }

    /// Feeds inputs, then plays the room, the bridge and the participants until quiet.
    fn deliver(&mut self, inputs: Vec<Input>) {
        let mut queue: VecDeque<Input> = inputs.into();
        while let Some(input) = queue.pop_front() {
            self.focus.handle(input, self.now);
            loop {
                match self.focus.poll_output() {
                    Output::Timeout(_) => break,
                    Output::Send(stanza) => self.on_stanza(stanza, &mut queue),
                    Output::Bridge(command) => self.on_command(command, &mut queue),
                    Output::BridgeStats(_) => panic!("not asked for"),
                }
            }
        }
    }

    fn on_command(&mut self, command: Command, queue: &mut VecDeque<Input>) {
        match command {
            Command::Publish {
                endpoint,
                participant,
                ..
            } => {
                self.publishers.push(participant);
                self.endpoints.insert(endpoint);
                if self.bridge_answers {
                    queue.push_back(Input::Bridge(Event::Answer {
                        endpoint,
                        sdp: ANSWER.into(),
                    }));
                }
            }
            Command::Subscribe { endpoint, .. } => {
                self.endpoints.insert(endpoint);
                if self.bridge_answers {
                    queue.push_back(Input::Bridge(Event::Offer {
                        endpoint,
                        sdp: OFFER.into(),
                    }));
                }
            }
            Command::Close { endpoint } => {
                assert!(
                    self.endpoints.remove(&endpoint),
                    "closed an unknown endpoint"
                );
            }
            Command::Answer { endpoint, .. } | Command::Constrain { endpoint, .. } => {
                assert!(self.endpoints.contains(&endpoint), "unknown endpoint");
            }
        }
    }

    fn on_stanza(&mut self, stanza: Stanza, queue: &mut VecDeque<Input>) {
        match stanza {
            Stanza::Presence(p) => self.on_presence_to_room(p, queue),
            Stanza::Iq(iq) if iq.to.to_bare().to_string() == MUC_ROOM => {
                let asks_owners =
                    matches!(&iq.kind, IqKind::Get(q) if q.ns() == commands::NS_MUC_ADMIN);
                let payload = asks_owners.then(|| {
                    let items = self.owners.iter().map(|o| {
                        Element::builder("item", commands::NS_MUC_ADMIN)
                            .attr(crate::focus::xml_name("affiliation"), "owner")
                            .attr(crate::focus::xml_name("jid"), o.as_str())
                            .build()
                    });
                    Element::builder("query", commands::NS_MUC_ADMIN)
                        .append_all(items)
                        .build()
                });
                // Otherwise the disco#info check of the room: it exists.
                queue.push_back(Input::Stanza(Stanza::Iq(answered(&iq, payload))));
            }
            Stanza::Iq(iq) => match &iq.kind {
                IqKind::Set(j) if j.is("jingle", NS_JINGLE) => self.on_jingle(iq.clone(), queue),
                IqKind::Result(_) | IqKind::Error(_) => {
                    self.replies.insert(iq.id.clone(), iq);
                }
                _ => panic!("unexpected IQ {iq:?}"),
            },
            Stanza::Message(m) => panic!("unexpected message {m:?}"),
        }
    }

    fn on_presence_to_room(&mut self, p: Presence, queue: &mut VecDeque<Input>) {
        assert_eq!(p.to.to_bare().to_string(), MUC_ROOM);
        if p.kind == PresenceKind::Unavailable {
            return;
        }
        // The room sends the occupant list, then our own presence.
        for (nick, real) in &self.occupants {
            let pres = occupant_presence(nick, &real.to_string(), PresenceKind::Available, false);
            queue.push_back(Input::Stanza(Stanza::Presence(pres)));
        }
        let own = occupant_presence(
            "focus",
            "room@focus.example/focus",
            PresenceKind::Available,
            true,
        );
        queue.push_back(Input::Stanza(Stanza::Presence(own)));
    }

    fn on_jingle(&mut self, iq: Iq, queue: &mut VecDeque<Input>) {
        let IqKind::Set(j) = &iq.kind else {
            unreachable!()
        };
        let to = iq.to.to_string();
        let sid = j.attr("sid").expect("sid").to_string();
        let behaviour = self
            .behaviour
            .get(&to)
            .copied()
            .unwrap_or(Behaviour::Accepts);
        queue.push_back(Input::Stanza(Stanza::Iq(answered(&iq, None))));
        match j.attr("action") {
            Some("session-initiate") => {
                let info = j
                    .get_child("conference-info", jingle::xep0298::NS_COIN)
                    .expect("conference-info");
                let info = ConferenceInfo::try_from(info).expect("readable conference-info");
                assert!(info.is_focus);
                let publisher = info.users[0].entity.trim_start_matches("xmpp:").to_string();
                self.seen.push(Seen::Offered {
                    to: to.clone(),
                    publisher: publisher.clone(),
                });
                self.links.insert(sid.clone(), (to.clone(), publisher));
                match behaviour {
                    Behaviour::Accepts => {
                        let accept = Iq {
                            id: format!("a-{sid}"),
                            from: iq.to.clone(),
                            to: iq.from.clone(),
                            kind: IqKind::Set(answer_jingle(&sid)),
                        };
                        queue.push_back(Input::Stanza(Stanza::Iq(accept)));
                    }
                    Behaviour::Holds => self.held.push((to, sid)),
                    Behaviour::NeverAccepts => {}
                }
            }
            Some("session-accept") => {
                let info = j.get_child("conference-info", jingle::xep0298::NS_COIN);
                assert!(
                    info.is_some(),
                    "the focus's session-accept carries conference-info"
                );
                // What a participant may send as video is capped; audio is not.
                let accept = signalling::read(j).expect("the focus writes Jingle sdp-map reads");
                for c in &accept.session.contents {
                    let capped = c
                        .bandwidths
                        .iter()
                        .any(|b| b.kind == "AS" && b.value == u64::from(limits::MAX_VIDEO_KBPS));
                    assert_eq!(capped, c.media == Some(Media::Video), "content {}", c.mid);
                }
                self.seen.push(Seen::Accepted { to });
            }
            Some("session-terminate") => {
                let reason = j
                    .get_child("reason", NS_JINGLE)
                    .and_then(|r| r.children().next())
                    .map(|c| c.name().to_string())
                    .unwrap_or_default();
                let publisher = self.links.remove(&sid).map(|(_, p)| p);
                self.seen.push(Seen::Terminated {
                    to,
                    publisher,
                    reason,
                });
            }
            Some("session-info") => {
                let payloads = j
                    .children()
                    .map(|c| format!("{}:{}", c.name(), c.attr("name").unwrap_or_default()))
                    .collect();
                let publisher = self.links.get(&sid).map(|(_, p)| p.clone());
                self.seen.push(Seen::Info {
                    to,
                    publisher,
                    payloads,
                });
            }
            other => panic!("unexpected action {other:?}"),
        }
    }

    /// Accepts the sessions `who` held.
    fn accept_held(&mut self, who: &str) {
        let held: Vec<(String, String)> = self
            .held
            .iter()
            .filter(|(t, _)| t == who)
            .cloned()
            .collect();
        self.held.retain(|(t, _)| t != who);
        let inputs = held
            .into_iter()
            .map(|(to, sid)| {
                Input::Stanza(Stanza::Iq(Iq {
                    id: format!("a-{sid}"),
                    from: Self::jid(&to),
                    to: Self::jid(ROOM),
                    kind: IqKind::Set(answer_jingle(&sid)),
                }))
            })
            .collect();
        self.deliver(inputs);
    }

    /// What the focus did since the last call, in order.
    fn take_seen(&mut self) -> Vec<Seen> {
        std::mem::take(&mut self.seen)
    }

    /// The links that exist now, as (subscriber, publisher) pairs.
    fn live_links(&self) -> BTreeSet<(String, String)> {
        self.links.values().cloned().collect()
    }
}

fn answered(iq: &Iq, payload: Option<Element>) -> Iq {
    Iq {
        id: iq.id.clone(),
        from: iq.to.clone(),
        to: iq.from.clone(),
        kind: IqKind::Result(payload),
    }
}

fn occupant_presence(nick: &str, real: &str, kind: PresenceKind, own: bool) -> Presence {
    let mut x = Element::builder("x", super::super::muc::NS_MUC_USER).append(
        Element::builder("item", super::super::muc::NS_MUC_USER)
            .attr(
                crate::focus::xml_name("affiliation"),
                if own { "owner" } else { "member" },
            )
            .attr(
                crate::focus::xml_name("role"),
                if kind == PresenceKind::Unavailable {
                    "none"
                } else {
                    "participant"
                },
            )
            .attr(crate::focus::xml_name("jid"), real),
    );
    if own {
        x = x.append(
            Element::builder("status", super::super::muc::NS_MUC_USER)
                .attr(crate::focus::xml_name("code"), "110"),
        );
    }
    Presence {
        id: None,
        from: Jid::new(&format!("{MUC_ROOM}/{nick}")).unwrap(),
        to: Jid::new("room@focus.example/focus").unwrap(),
        kind,
        payloads: vec![x.build()],
    }
}

fn offered(to: &str, publisher: &str) -> Seen {
    Seen::Offered {
        to: to.into(),
        publisher: publisher.into(),
    }
}

fn accepted(to: &str) -> Seen {
    Seen::Accepted { to: to.into() }
}

fn terminated(to: &str, publisher: Option<&str>, reason: &str) -> Seen {
    Seen::Terminated {
        to: to.into(),
        publisher: publisher.map(str::to_string),
        reason: reason.into(),
    }
}

fn is_result(iq: &Iq) -> bool {
    matches!(iq.kind, IqKind::Result(_))
}

fn condition(iq: &Iq) -> String {
    match &iq.kind {
        IqKind::Error(e) => Element::from(e.defined_condition.clone())
            .name()
            .to_string(),
        other => panic!("expected an error, got {other:?}"),
    }
}

const ALICE: &str = "alice@example/web";
const BOB: &str = "bob@example/web";
const CAROL: &str = "carol@example/web";

/// alice and bob in the room and in the call.
fn two_in_a_call() -> World {
    two_in_a_call_where_bob(Behaviour::Accepts)
}

/// alice in the call, then bob joins and does `bob` with the session carrying alice's media.
fn two_in_a_call_where_bob(bob: Behaviour) -> World {
    let mut w = World::new();
    w.enter_muc("alice", ALICE);
    w.enter_muc("bob", BOB);
    assert!(is_result(&w.join(ALICE, "a1", 0)));
    w.behaviour.insert(BOB.into(), bob);
    assert!(is_result(&w.join(BOB, "b1", 1000)));
    w
}

#[test]
fn pure_diff_opens_missing_and_closes_extra_links() {
    let (a, b, c) = (ParticipantId(1), ParticipantId(2), ParticipantId(3));
    let none = BTreeSet::new();
    let b_declined_a: BTreeSet<_> = [a].into();
    let ready = [(a, &none), (b, &b_declined_a), (c, &none)];
    let wanted = wanted_links(ready.iter().copied());
    assert_eq!(
        wanted,
        [(a, b), (a, c), (b, c), (c, a), (c, b)].into(),
        "everyone gets everyone else, except what b declined"
    );
    let current: BTreeSet<LinkKey> = [(a, b), (b, a), (c, a)].into();
    let (open, close) = diff(&wanted, &current);
    assert_eq!(open, vec![(a, c), (b, c), (c, b)]);
    assert_eq!(close, vec![(b, a)]);
}

#[test]
fn join_then_second_joins_and_each_gets_the_other() {
    let mut w = World::new();
    w.enter_muc("alice", ALICE);
    w.enter_muc("bob", BOB);
    let reply = w.join(ALICE, "a1", 0);
    assert!(is_result(&reply), "{reply:?}");
    assert_eq!(
        w.take_seen(),
        vec![accepted(ALICE)],
        "alone: no one's media to receive"
    );
    assert!(is_result(&w.join(BOB, "b1", 1000)));
    let seen: BTreeSet<_> = w.take_seen().into_iter().collect();
    let expected: BTreeSet<_> = [
        accepted(BOB),
        offered(BOB, "alice@example"),
        offered(ALICE, "bob@example"),
    ]
    .into();
    assert_eq!(seen, expected);
    assert_eq!(
        w.live_links(),
        [
            (ALICE.into(), "bob@example".into()),
            (BOB.into(), "alice@example".into())
        ]
        .into()
    );
}

#[test]
fn late_joiner_gets_one_session_per_present_participant_and_everyone_gets_its() {
    let mut w = two_in_a_call();
    w.take_seen();
    w.enter_muc("carol", CAROL);
    assert!(is_result(&w.join(CAROL, "c1", 2000)));
    let seen: BTreeSet<_> = w.take_seen().into_iter().collect();
    let expected: BTreeSet<_> = [
        accepted(CAROL),
        offered(CAROL, "alice@example"),
        offered(CAROL, "bob@example"),
        offered(ALICE, "carol@example"),
        offered(BOB, "carol@example"),
    ]
    .into();
    assert_eq!(seen, expected);
    assert_eq!(w.live_links().len(), 6, "three participants: six links");
}

#[test]
fn leaving_by_session_terminate_ends_every_session_of_its_media() {
    let mut w = two_in_a_call();
    w.enter_muc("carol", CAROL);
    w.join(CAROL, "c1", 2000);
    w.take_seen();
    let reply = w.hang_up(CAROL, "c1");
    assert!(is_result(&reply));
    let seen: BTreeSet<_> = w.take_seen().into_iter().collect();
    // carol's media leaves alice's and bob's calls; the sessions toward carol end too.
    let expected: BTreeSet<_> = [
        terminated(ALICE, Some("carol@example"), "gone"),
        terminated(BOB, Some("carol@example"), "gone"),
        terminated(CAROL, None, "success"),
    ]
    .into();
    assert_eq!(seen, expected);
    assert_eq!(
        w.live_links(),
        [
            (ALICE.into(), "bob@example".into()),
            (BOB.into(), "alice@example".into())
        ]
        .into()
    );
    // The bridge holds alice's and bob's own endpoints and their two links, nothing of carol.
    assert_eq!(w.endpoints.len(), 4);
}

/// XEP-0166 ends each session by its own terminate: a participant that terminates its own
/// session still holds the sessions the focus opened toward it (a plain Jingle client such
/// as StanzaJS does), so the focus terminates each of those.
#[test]
fn leaving_by_session_terminate_ends_the_sessions_toward_it_one_by_one() {
    let mut w = two_in_a_call();
    w.enter_muc("carol", CAROL);
    w.join(CAROL, "c1", 2000);
    w.take_seen();
    // carol keeps her side of the sessions carrying alice's and bob's media.
    let reply = w.action(CAROL, Action::SessionTerminate, "c1", Vec::new());
    assert!(is_result(&reply));
    let mut seen = w.take_seen();
    seen.sort();
    let mut expected = vec![
        terminated(ALICE, Some("carol@example"), "gone"),
        terminated(BOB, Some("carol@example"), "gone"),
        terminated(CAROL, Some("alice@example"), "success"),
        terminated(CAROL, Some("bob@example"), "success"),
    ];
    expected.sort();
    assert_eq!(
        seen, expected,
        "one terminate per session, none for carol's own"
    );
    assert!(w
        .live_links()
        .iter()
        .all(|(to, publ)| to != CAROL && publ != "carol@example"));
}

#[test]
fn leaving_the_muc_or_going_offline_removes_the_participant() {
    let mut w = two_in_a_call();
    w.take_seen();
    w.leave_muc("bob");
    assert_eq!(
        w.take_seen(),
        vec![terminated(ALICE, Some("bob@example"), "gone")]
    );
    assert_eq!(w.live_links(), BTreeSet::new());
    w.leave_muc("alice");
    assert_eq!(w.take_seen(), vec![]);
    assert!(
        w.endpoints.is_empty(),
        "the bridge holds nothing of the room"
    );
    assert_eq!(w.focus.room_count(), 0, "the call is over and forgotten");
}

#[test]
fn two_joining_at_once_before_the_focus_is_in_the_room() {
    let mut w = World::new();
    w.occupants.insert("alice".into(), ALICE.parse().unwrap());
    w.occupants.insert("bob".into(), BOB.parse().unwrap());
    // Both requests arrive before the room has answered the focus.
    let a = offer_jingle("a1", ALICE, 0);
    let b = offer_jingle("b1", BOB, 1000);
    let iq = |id: &str, from: &str, j: Element| {
        Input::Stanza(Stanza::Iq(Iq {
            id: id.into(),
            from: World::jid(from),
            to: World::jid(ROOM),
            kind: IqKind::Set(j),
        }))
    };
    w.deliver(vec![iq("ja", ALICE, a), iq("jb", BOB, b)]);
    assert!(is_result(&w.replies["ja"]));
    assert!(is_result(&w.replies["jb"]));
    let seen: BTreeSet<_> = w.take_seen().into_iter().collect();
    let expected: BTreeSet<_> = [
        accepted(ALICE),
        accepted(BOB),
        offered(BOB, "alice@example"),
        offered(ALICE, "bob@example"),
    ]
    .into();
    assert_eq!(seen, expected);
}

#[test]
fn leaving_while_being_called_back() {
    let mut w = two_in_a_call_where_bob(Behaviour::Holds);
    w.take_seen();
    assert_eq!(w.held.len(), 1, "bob holds the session with alice's media");
    // bob leaves before accepting it.
    w.hang_up(BOB, "b1");
    let seen = w.take_seen();
    assert_eq!(
        seen,
        vec![
            terminated(ALICE, Some("bob@example"), "gone"),
            terminated(BOB, None, "success")
        ]
    );
    // bob's late session-accept for the held session finds no session.
    let (_, sid) = w.held[0].clone();
    let reply = {
        let id = w.iq(BOB, IqKind::Set(answer_jingle(&sid)));
        w.replies.remove(&id).unwrap()
    };
    assert_eq!(condition(&reply), "item-not-found");
    assert_eq!(w.endpoints.len(), 1, "only alice's own endpoint is left");
}

#[test]
fn a_participant_that_never_answers_the_callback() {
    let mut w = two_in_a_call_where_bob(Behaviour::NeverAccepts);
    w.take_seen();
    w.advance(limits::ACCEPT_TIMEOUT - Duration::from_secs(1));
    assert_eq!(w.take_seen(), vec![], "still within the deadline");
    w.advance(Duration::from_secs(1));
    assert_eq!(
        w.take_seen(),
        vec![terminated(BOB, Some("alice@example"), "timeout")]
    );
    // bob stays in the call (alice still receives him), and is not offered alice again.
    assert_eq!(
        w.live_links(),
        [(ALICE.into(), "bob@example".into())].into()
    );
    w.advance(limits::ACCEPT_TIMEOUT * 2);
    assert_eq!(w.take_seen(), vec![]);
}

#[test]
fn non_occupant_is_refused_and_nothing_changes() {
    let mut w = two_in_a_call();
    w.take_seen();
    let endpoints = w.endpoints.len();
    let reply = w.join("mallory@evil.example/x", "m1", 5000);
    assert_eq!(condition(&reply), "forbidden");
    assert_eq!(w.take_seen(), vec![]);
    assert_eq!(w.endpoints.len(), endpoints);
    assert_eq!(w.live_links().len(), 2);
}

#[test]
fn non_occupant_of_a_room_without_call_is_refused_and_the_focus_leaves() {
    let mut w = World::new();
    w.enter_muc("alice", ALICE);
    let reply = w.join("mallory@evil.example/x", "m1", 5000);
    assert_eq!(condition(&reply), "forbidden");
    assert!(w.endpoints.is_empty());
    assert_eq!(w.focus.room_count(), 0, "the focus left the room again");
}

#[test]
fn a_participant_may_send_three_simulcast_layers_not_four() {
    let mut w = World::new();
    w.enter_muc("alice", ALICE);
    w.enter_muc("bob", BOB);
    let four = offer_with_layers("a1", ALICE, 0, 4);
    let id = w.iq(ALICE, IqKind::Set(four));
    let reply = w.replies.remove(&id).unwrap();
    assert_eq!(condition(&reply), "not-acceptable");
    assert!(
        format!("{reply:?}").contains("at most 3 simulcast layers, not 4"),
        "{reply:?}"
    );
    let three = offer_with_layers("a2", ALICE, 0, 3);
    let id = w.iq(ALICE, IqKind::Set(three));
    assert!(is_result(&w.replies.remove(&id).unwrap()));
}

#[test]
fn hostile_jingle_disturbs_no_one() {
    let mut w = two_in_a_call();
    w.take_seen();
    // transport-info for someone else's session.
    let reply = w.action(CAROL, Action::TransportInfo, "a1", Vec::new());
    assert_eq!(condition(&reply), "item-not-found");
    // A session-info nobody knows.
    let reply = w.action(
        ALICE,
        Action::SessionInfo,
        "a1",
        vec![Element::bare("surprise", "urn:example:x")],
    );
    assert_eq!(condition(&reply), "feature-not-implemented");
    // An ssrc that alice already uses.
    w.enter_muc("carol", CAROL);
    let reply = w.join(CAROL, "c1", 0);
    assert_eq!(condition(&reply), "not-acceptable");
    // A second session-initiate on a known session.
    let reply = w.join(ALICE, "a1", 0);
    assert_eq!(condition(&reply), "unexpected-request");
    assert_eq!(w.take_seen(), vec![]);
    assert_eq!(
        w.live_links().len(),
        2,
        "alice and bob still see each other"
    );
}

#[test]
fn the_call_is_limited_by_the_room_setting() {
    let mut w = World::new();
    let config = super::super::FocusConfig {
        domain: "focus.example".into(),
        muc_service: "conference.example".into(),
        nick: "focus".into(),
        max_participants: 2,
        server_domain: "example".into(),
    };
    w.focus = Focus::new(config, 1, w.now);
    w.enter_muc("alice", ALICE);
    w.enter_muc("bob", BOB);
    w.enter_muc("carol", CAROL);
    w.join(ALICE, "a1", 0);
    w.join(BOB, "b1", 1000);
    let reply = w.join(CAROL, "c1", 2000);
    assert_eq!(condition(&reply), "resource-constraint");
    assert_eq!(w.live_links().len(), 2);
}

#[test]
fn mute_is_relayed_to_everyone_receiving_the_media() {
    let mut w = two_in_a_call();
    w.take_seen();
    let mute = Element::builder("mute", signalling::NS_RTP_INFO)
        .attr(crate::focus::xml_name("creator"), "initiator")
        .attr(crate::focus::xml_name("name"), "0")
        .build();
    let reply = w.action(ALICE, Action::SessionInfo, "a1", vec![mute]);
    assert!(is_result(&reply));
    // alice's content "0" is her audio; on bob's link with her media the audio content is
    // the bridge's "0" too.
    assert_eq!(
        w.take_seen(),
        vec![Seen::Info {
            to: BOB.into(),
            publisher: Some("alice@example".into()),
            payloads: vec!["mute:0".into()],
        }]
    );
    // carol joins later and learns at once that alice is muted.
    w.enter_muc("carol", CAROL);
    w.join(CAROL, "c1", 2000);
    let infos: Vec<Seen> = w
        .take_seen()
        .into_iter()
        .filter(|s| matches!(s, Seen::Info { .. }))
        .collect();
    assert_eq!(
        infos,
        vec![Seen::Info {
            to: CAROL.into(),
            publisher: Some("alice@example".into()),
            payloads: vec!["mute:0".into()],
        }]
    );
}

#[test]
fn a_callback_accepted_late_but_within_the_deadline_stays() {
    let mut w = two_in_a_call_where_bob(Behaviour::Holds);
    w.advance(limits::ACCEPT_TIMEOUT / 2);
    w.accept_held(BOB);
    w.take_seen();
    w.advance(limits::ACCEPT_TIMEOUT * 2);
    assert_eq!(w.take_seen(), vec![], "nothing times out once accepted");
    assert_eq!(w.live_links().len(), 2);
}

#[test]
fn a_failed_transport_removes_the_participant() {
    let mut w = two_in_a_call();
    w.take_seen();
    // bob's own endpoint fails (his page died).
    let bob_endpoint = *w.endpoints.iter().nth(1).expect("bob's endpoint");
    w.deliver(vec![Input::Bridge(Event::Closed {
        endpoint: bob_endpoint,
        reason: CloseReason::Failed,
    })]);
    let seen: BTreeSet<_> = w.take_seen().into_iter().collect();
    let expected: BTreeSet<_> = [
        terminated(ALICE, Some("bob@example"), "gone"),
        terminated(BOB, Some("alice@example"), "connectivity-error"),
        terminated(BOB, None, "connectivity-error"),
    ]
    .into();
    assert_eq!(seen, expected);
    assert_eq!(w.endpoints.len(), 1, "only alice's own endpoint is left");
}

fn command(action: &str, max: Option<&str>) -> Element {
    let mut c = Element::builder("command", commands::NS_COMMANDS)
        .attr(crate::focus::xml_name("node"), commands::NODE_CONFIG)
        .attr(crate::focus::xml_name("action"), action);
    if let Some(max) = max {
        let form = format!(
            "<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>urn:xmpp:av-conferences:config</value></field>\
             <field var='max-participants'><value>{max}</value></field></x>"
        );
        c = c.append(form.parse::<Element>().unwrap());
    }
    c.build()
}

#[test]
fn room_owners_set_the_participant_limit_and_others_may_not() {
    let mut w = World::new();
    let id = w.iq(ALICE, IqKind::Set(command("execute", None)));
    let reply = w.replies.remove(&id).unwrap();
    let IqKind::Result(Some(c)) = &reply.kind else {
        panic!("{reply:?}")
    };
    assert_eq!(c.attr("status"), Some("executing"));
    let form = c.get_child("x", "jabber:x:data").expect("a form");
    let value = form
        .children()
        .find(|f| f.attr("var") == Some("max-participants"))
        .and_then(|f| f.children().find(|v| v.name() == "value"))
        .map(|v| v.text());
    assert_eq!(value.as_deref(), Some("16"));

    let id = w.iq(ALICE, IqKind::Set(command("complete", Some("2"))));
    let reply = w.replies.remove(&id).unwrap();
    let IqKind::Result(Some(c)) = &reply.kind else {
        panic!("{reply:?}")
    };
    assert_eq!(c.attr("status"), Some("completed"));

    let id = w.iq(BOB, IqKind::Set(command("complete", Some("50"))));
    assert_eq!(condition(&w.replies.remove(&id).unwrap()), "forbidden");
    let id = w.iq(ALICE, IqKind::Set(command("complete", Some("0"))));
    assert_eq!(condition(&w.replies.remove(&id).unwrap()), "not-acceptable");

    // The limit holds for the next call.
    w.enter_muc("alice", ALICE);
    w.enter_muc("bob", BOB);
    w.enter_muc("carol", CAROL);
    w.join(ALICE, "a1", 0);
    w.join(BOB, "b1", 1000);
    assert_eq!(condition(&w.join(CAROL, "c1", 2000)), "resource-constraint");
}

#[test]
fn trickle_and_terminate_while_the_focus_enters_the_room() {
    let mut w = World::new();
    w.occupants.insert("alice".into(), ALICE.parse().unwrap());
    w.occupants.insert("bob".into(), BOB.parse().unwrap());
    let iq = |id: &str, from: &str, j: Element| {
        Input::Stanza(Stanza::Iq(Iq {
            id: id.into(),
            from: World::jid(from),
            to: World::jid(ROOM),
            kind: IqKind::Set(j),
        }))
    };
    // Each sends its session-initiate and, before the room answers the focus, a candidate;
    // bob then changes his mind.
    w.deliver(vec![
        iq("ja", ALICE, offer_jingle("a1", ALICE, 0)),
        iq(
            "ta",
            ALICE,
            jingle_of(Action::TransportInfo, "a1", Vec::new()),
        ),
        iq("jb", BOB, offer_jingle("b1", BOB, 1000)),
        iq(
            "tb",
            BOB,
            jingle_of(Action::SessionTerminate, "b1", Vec::new()),
        ),
    ]);
    for id in ["ja", "ta", "jb", "tb"] {
        assert!(is_result(&w.replies[id]), "{id}: {:?}", w.replies[id]);
    }
    assert_eq!(
        w.take_seen(),
        vec![accepted(ALICE)],
        "only alice is in the call"
    );
}

#[test]
fn a_subscriber_whose_session_goes_live_later_learns_who_speaks() {
    let mut w = two_in_a_call_where_bob(Behaviour::Holds);
    w.take_seen();
    // The bridge names alice before bob accepted the session with her media.
    let room = w
        .focus
        .conference(&ROOM.parse().unwrap())
        .expect("a call")
        .id();
    let alice_id = w.publishers[0];
    w.deliver(vec![Input::Bridge(Event::DominantSpeaker {
        room,
        participant: Some(alice_id),
    })]);
    let speaker_infos = |seen: Vec<Seen>| {
        seen.into_iter()
            .filter(|s| matches!(s, Seen::Info { payloads, .. } if payloads == &vec!["dominant-speaker:".to_string()]))
            .collect::<Vec<_>>()
    };
    // alice gets bob's media on a live session, but bob is not speaking; bob's is held.
    assert_eq!(speaker_infos(w.take_seen()), vec![]);
    w.accept_held(BOB);
    assert_eq!(
        speaker_infos(w.take_seen()),
        vec![Seen::Info {
            to: BOB.into(),
            publisher: Some("alice@example".into()),
            payloads: vec!["dominant-speaker:".into()],
        }]
    );
}
