//! The XEP-0166 session state machine: one transition table for both ends.
//!
//! A session is `Pending` from `session-initiate` until `session-accept`, then `Active`,
//! and `Ended` after `session-terminate` (from either side) or a refused initiation. Each
//! action is allowed only in some states and only from some role; everything else is
//! `out-of-order`, and anything on an ended session is `unknown-session` (XEP-0166 §6.7:
//! the ended session's sid is forgotten).

use sdp_map::{Action, Role};

use crate::error::JingleCondition;

/// Where a session is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// Initiated, not yet accepted.
    Pending,
    /// Accepted: media may flow.
    Active,
    /// Terminated.
    Ended,
}

/// Who may send an action.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Sender {
    Initiator,
    Responder,
    Either,
}

/// The transition table: in which states an action is allowed, from whom, and where it leads.
fn rule(action: Action) -> (&'static [State], Sender, Option<State>) {
    use Action::*;
    use State::*;
    const LIVE: &[State] = &[Pending, Active];
    match action {
        // A session begins with its initiate; one arriving for a known sid is out of order.
        SessionInitiate => (&[], Sender::Initiator, None),
        SessionAccept => (&[Pending], Sender::Responder, Some(Active)),
        SessionTerminate => (LIVE, Sender::Either, Some(Ended)),
        SessionInfo | TransportInfo | SecurityInfo | DescriptionInfo => {
            (LIVE, Sender::Either, None)
        }
        // XEP-0166 §6.6: content and transport changes modify a session that exists on both
        // sides; before acceptance the responder has not agreed to anything to modify.
        ContentAdd | ContentModify | ContentRemove | ContentAccept | ContentReject
        | TransportReplace | TransportAccept | TransportReject => (&[Active], Sender::Either, None),
    }
}

/// One Jingle session as one party sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    sid: String,
    local: Role,
    state: State,
}

impl Session {
    /// A session just initiated (sent or received): `Pending`. `local` is our role in it.
    pub fn initiated(sid: impl Into<String>, local: Role) -> Session {
        Session {
            sid: sid.into(),
            local,
            state: State::Pending,
        }
    }

    /// The session id.
    pub fn sid(&self) -> &str {
        &self.sid
    }

    /// Our role.
    pub fn local_role(&self) -> Role {
        self.local
    }

    /// The current state.
    pub fn state(&self) -> State {
        self.state
    }

    /// Checks an action the peer sent and, if it is allowed, applies its transition.
    pub fn receive(&mut self, action: Action) -> Result<State, JingleCondition> {
        let peer = match self.local {
            Role::Initiator => Role::Responder,
            Role::Responder => Role::Initiator,
        };
        self.apply(action, peer)
    }

    /// Checks an action we are about to send and, if it is allowed, applies its transition.
    pub fn send(&mut self, action: Action) -> Result<State, JingleCondition> {
        self.apply(action, self.local)
    }

    /// Marks the session ended without an action (e.g. our `session-initiate` was refused).
    pub fn end(&mut self) {
        self.state = State::Ended;
    }

    fn apply(&mut self, action: Action, by: Role) -> Result<State, JingleCondition> {
        if self.state == State::Ended {
            return Err(JingleCondition::UnknownSession);
        }
        let (states, sender, next) = rule(action);
        let sender_ok = matches!(
            (sender, by),
            (Sender::Either, _)
                | (Sender::Initiator, Role::Initiator)
                | (Sender::Responder, Role::Responder)
        );
        if !sender_ok || !states.contains(&self.state) {
            return Err(JingleCondition::OutOfOrder);
        }
        if let Some(next) = next {
            self.state = next;
        }
        Ok(self.state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Action::*;

    /// Each row: a session in some state, an action sent by the peer or by us, the outcome.
    #[test]
    fn transition_table() {
        let pending = |local| Session::initiated("s1", local);
        let active = |local| {
            let mut s = Session::initiated("s1", local);
            match local {
                Role::Initiator => s.receive(SessionAccept).unwrap(),
                Role::Responder => s.send(SessionAccept).unwrap(),
            };
            s
        };
        let ended = |local| {
            let mut s = Session::initiated("s1", local);
            s.end();
            s
        };
        type Case = (
            &'static str,
            Session,
            Action,
            bool,
            Result<State, JingleCondition>,
        );
        let ooo = Err(JingleCondition::OutOfOrder);
        let table: Vec<Case> = vec![
            (
                "accept from responder",
                pending(Role::Initiator),
                SessionAccept,
                true,
                Ok(State::Active),
            ),
            (
                "we accept as responder",
                pending(Role::Responder),
                SessionAccept,
                false,
                Ok(State::Active),
            ),
            (
                "accept from initiator",
                pending(Role::Responder),
                SessionAccept,
                true,
                ooo,
            ),
            (
                "accept twice",
                active(Role::Initiator),
                SessionAccept,
                true,
                ooo,
            ),
            (
                "initiate on a known sid",
                pending(Role::Responder),
                SessionInitiate,
                true,
                ooo,
            ),
            (
                "terminate pending",
                pending(Role::Responder),
                SessionTerminate,
                true,
                Ok(State::Ended),
            ),
            (
                "terminate active",
                active(Role::Initiator),
                SessionTerminate,
                false,
                Ok(State::Ended),
            ),
            (
                "trickle while pending",
                pending(Role::Initiator),
                TransportInfo,
                true,
                Ok(State::Pending),
            ),
            (
                "info while active",
                active(Role::Responder),
                SessionInfo,
                true,
                Ok(State::Active),
            ),
            (
                "content-add while pending",
                pending(Role::Responder),
                ContentAdd,
                true,
                ooo,
            ),
            (
                "content-modify while active",
                active(Role::Responder),
                ContentModify,
                true,
                Ok(State::Active),
            ),
            (
                "anything after the end",
                ended(Role::Initiator),
                TransportInfo,
                true,
                Err(JingleCondition::UnknownSession),
            ),
            (
                "terminate after the end",
                ended(Role::Responder),
                SessionTerminate,
                true,
                Err(JingleCondition::UnknownSession),
            ),
        ];
        for (name, mut session, action, from_peer, expected) in table {
            let before = session.state();
            let got = if from_peer {
                session.receive(action)
            } else {
                session.send(action)
            };
            assert_eq!(got, expected, "{name}");
            if expected.is_err() {
                assert_eq!(
                    session.state(),
                    before,
                    "{name}: a refused action changes nothing"
                );
            }
        }
    }
}
