//! Where a new call goes: a pure decision over a snapshot of the tenant's
//! telephony directory, so every rule is testable without a network. Calls
//! are offered only to available agents (PRODUCT E4): the snapshot lists who
//! is away ([`away`] of each agent's state at the time of the call). An
//! agent dialling [`ECHO_NUMBER`] reaches the node's echo test.

use callisto_domain::Millis;
use callisto_domain::agent_state::AgentState;
use callisto_domain::ids::{TenantId, UserId};
use callisto_domain::phone::normalize_phone;

/// The echo test's number, as on Asterisk (`*43` in its sample dial plan):
/// what an agent says comes straight back from the media node. Short numbers
/// are digits only (`callisto_domain::user::check_short_number`), so no
/// agent's number can take it; it is matched first all the same.
pub const ECHO_NUMBER: &str = "*43";

/// What the node knows of one tenant when a call arrives.
#[derive(Debug, Clone, Default)]
pub struct Directory {
    pub tenant: Option<TenantId>,
    /// ISO region for numbers dialled without a country code.
    pub phone_region: String,
    /// The enabled trunk, if any: its line name and caller id (E.164).
    pub trunk: Option<TrunkLine>,
    /// Agents by short number.
    pub extensions: Vec<(String, UserId)>,
    /// Agents with at least one live registration (or browser session).
    pub reachable: Vec<UserId>,
    /// Agents who take no calls now, and why; everyone else is available.
    pub away: Vec<(UserId, Away)>,
}

/// Why an agent takes no calls now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Away {
    /// Do not disturb: a call for them gets "busy".
    DoNotDisturb,
    /// Not ready, wrapping up or offline: a call for them gets "temporarily unavailable".
    NotReady,
}

/// Why an agent in `state` takes no calls at `now`, if they don't: a wrap-up
/// whose time is up is available again.
pub fn away(state: &AgentState, now: Millis) -> Option<Away> {
    match state.at(now) {
        AgentState::Available => None,
        AgentState::Dnd => Some(Away::DoNotDisturb),
        AgentState::NotReady { .. } | AgentState::WrapUp { .. } | AgentState::Offline => {
            Some(Away::NotReady)
        }
    }
}

impl Directory {
    fn away(&self, u: &UserId) -> Option<Away> {
        self.away.iter().find(|(a, _)| a == u).map(|(_, why)| *why)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrunkLine {
    pub name: String,
    pub number: String,
}

/// Who is calling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// A registered agent of the tenant.
    Agent(UserId),
    /// The tenant's trunk (a customer calling the company).
    Trunk,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// Out through the trunk to an E.164 number, showing the trunk's number.
    Trunk {
        number: String,
        caller_id: String,
        line: String,
    },
    /// To these agents' devices at once (the first to answer takes the call).
    Agents(Vec<UserId>),
    /// The node answers itself and sends the caller's audio back (an agent's
    /// echo test; no other party, no call record).
    Echo,
}

/// Why a call cannot be placed; the SIP status the caller gets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("{0:?} is neither a short number nor a phone number")]
    BadNumber(String),
    #[error("the company has no enabled trunk for outside calls")]
    NoTrunk,
    #[error("short number {0} belongs to nobody")]
    UnknownExtension(String),
    #[error("nobody can take the call now")]
    NobodyAvailable,
    #[error("the agent at {0} does not want to be disturbed")]
    DoNotDisturb(String),
    #[error("the agent at {0} is not ready for calls")]
    NotReady(String),
}

impl Refusal {
    pub fn sip_status(&self) -> (u16, &'static str) {
        match self {
            Refusal::BadNumber(_) => (484, "Address Incomplete"),
            Refusal::NoTrunk => (403, "No Trunk Configured"),
            Refusal::UnknownExtension(_) => (404, "Not Found"),
            Refusal::NobodyAvailable | Refusal::NotReady(_) => (480, "Temporarily Unavailable"),
            Refusal::DoNotDisturb(_) => (486, "Busy Here"),
        }
    }
}

/// Decides the route of a call from `caller` to `dialled` (the user part of the
/// request URI as sent).
pub fn route(dir: &Directory, caller: &Caller, dialled: &str) -> Result<Route, Refusal> {
    let dialled = dialled.trim();
    if dialled == ECHO_NUMBER && matches!(caller, Caller::Agent(_)) {
        return Ok(Route::Echo);
    }
    if let Some((_, user)) = dir.extensions.iter().find(|(ext, _)| ext == dialled) {
        if !dir.reachable.contains(user) {
            return Err(Refusal::NobodyAvailable);
        }
        return match dir.away(user) {
            None => Ok(Route::Agents(vec![user.clone()])),
            Some(Away::DoNotDisturb) => Err(Refusal::DoNotDisturb(dialled.to_string())),
            Some(Away::NotReady) => Err(Refusal::NotReady(dialled.to_string())),
        };
    }
    match caller {
        Caller::Trunk => {
            // A call for the company's number (or any DID of the trunk) rings
            // every reachable, available agent; queues and menus come with incoming lines.
            let available: Vec<UserId> = dir
                .reachable
                .iter()
                .filter(|u| dir.away(u).is_none())
                .cloned()
                .collect();
            if available.is_empty() {
                Err(Refusal::NobodyAvailable)
            } else {
                Ok(Route::Agents(available))
            }
        }
        Caller::Agent(_) => {
            let short = dialled.len() <= 6 && dialled.bytes().all(|b| b.is_ascii_digit());
            if short {
                return Err(Refusal::UnknownExtension(dialled.to_string()));
            }
            let number = normalize_phone(dialled, &dir.phone_region)
                .map_err(|_| Refusal::BadNumber(dialled.to_string()))?;
            let trunk = dir.trunk.as_ref().ok_or(Refusal::NoTrunk)?;
            Ok(Route::Trunk {
                number,
                caller_id: trunk.number.clone(),
                line: trunk.name.clone(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(s: &str) -> UserId {
        UserId::parse(s).expect("id")
    }

    fn dir() -> Directory {
        Directory {
            tenant: TenantId::parse("t").ok(),
            phone_region: "RU".into(),
            trunk: Some(TrunkLine {
                name: "Main".into(),
                number: "+74951234567".into(),
            }),
            extensions: vec![("101".into(), user("ann")), ("102".into(), user("bob"))],
            reachable: vec![user("ann"), user("bob")],
            away: vec![],
        }
    }

    #[test]
    fn agents_call_out_through_the_trunk_with_its_number() {
        let r = route(&dir(), &Caller::Agent(user("ann")), "8 (912) 345-67-89");
        assert_eq!(
            r,
            Ok(Route::Trunk {
                number: "+79123456789".into(),
                caller_id: "+74951234567".into(),
                line: "Main".into()
            })
        );
        let no_trunk = Directory {
            trunk: None,
            ..dir()
        };
        assert_eq!(
            route(&no_trunk, &Caller::Agent(user("ann")), "+79123456789"),
            Err(Refusal::NoTrunk)
        );
        assert!(matches!(
            route(&dir(), &Caller::Agent(user("ann")), "hello"),
            Err(Refusal::BadNumber(_))
        ));
    }

    #[test]
    fn short_numbers_reach_one_agent_if_reachable() {
        let r = route(&dir(), &Caller::Agent(user("ann")), "102");
        assert_eq!(r, Ok(Route::Agents(vec![user("bob")])));
        let away = Directory {
            reachable: vec![user("ann")],
            ..dir()
        };
        assert_eq!(
            route(&away, &Caller::Agent(user("ann")), "102"),
            Err(Refusal::NobodyAvailable)
        );
        assert_eq!(
            route(&dir(), &Caller::Agent(user("ann")), "109"),
            Err(Refusal::UnknownExtension("109".into()))
        );
    }

    #[test]
    fn agents_reach_the_echo_test_and_customers_do_not() {
        let r = route(&dir(), &Caller::Agent(user("ann")), " *43 ");
        assert_eq!(r, Ok(Route::Echo));
        // Even an agent with no trunk and nobody else reachable gets it.
        let alone = Directory {
            trunk: None,
            reachable: vec![],
            ..dir()
        };
        assert_eq!(
            route(&alone, &Caller::Agent(user("ann")), "*43"),
            Ok(Route::Echo)
        );
        // A customer dialling it through the trunk rings the company as any DID.
        assert_eq!(
            route(&dir(), &Caller::Trunk, "*43"),
            Ok(Route::Agents(vec![user("ann"), user("bob")]))
        );
    }

    #[test]
    fn trunk_calls_ring_every_reachable_agent() {
        let r = route(&dir(), &Caller::Trunk, "+74951234567");
        assert_eq!(r, Ok(Route::Agents(vec![user("ann"), user("bob")])));
        let nobody = Directory {
            reachable: vec![],
            ..dir()
        };
        assert_eq!(
            route(&nobody, &Caller::Trunk, "+74951234567"),
            Err(Refusal::NobodyAvailable)
        );
        // A DID naming an extension goes straight to that agent.
        assert_eq!(
            route(&dir(), &Caller::Trunk, "101"),
            Ok(Route::Agents(vec![user("ann")]))
        );
    }

    #[test]
    fn calls_are_offered_only_to_available_agents() {
        let now = 1_000_000;
        let wrap = AgentState::WrapUp {
            until: now + 30_000,
        };
        assert_eq!(away(&wrap, now), Some(Away::NotReady));
        assert_eq!(away(&wrap, now + 30_000), None, "wrap-up ends by itself");
        assert_eq!(away(&AgentState::Dnd, now), Some(Away::DoNotDisturb));
        assert_eq!(away(&AgentState::Offline, now), Some(Away::NotReady));

        let ann_dnd = Directory {
            away: vec![(user("ann"), Away::DoNotDisturb)],
            ..dir()
        };
        assert_eq!(
            route(&ann_dnd, &Caller::Trunk, "+74951234567"),
            Ok(Route::Agents(vec![user("bob")]))
        );
        let r = route(&ann_dnd, &Caller::Agent(user("bob")), "101");
        assert_eq!(r, Err(Refusal::DoNotDisturb("101".into())));
        assert_eq!(r.unwrap_err().sip_status(), (486, "Busy Here"));

        let nobody = Directory {
            away: vec![
                (user("ann"), Away::DoNotDisturb),
                (user("bob"), Away::NotReady),
            ],
            ..dir()
        };
        let r = route(&nobody, &Caller::Trunk, "+74951234567");
        assert_eq!(r, Err(Refusal::NobodyAvailable));
        assert_eq!(r.unwrap_err().sip_status().0, 480);
        let r = route(&nobody, &Caller::Agent(user("ann")), "102");
        assert_eq!(r, Err(Refusal::NotReady("102".into())));
        assert_eq!(r.unwrap_err().sip_status().0, 480);
    }
}
