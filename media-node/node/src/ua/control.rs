//! Requests from the node's control API: calls in progress, placing a call,
//! holding one, ending one.

use super::*;

impl Ua {
    /// Places a call for the control API once its company is known (`found`:
    /// its read, when the request waited for one).
    pub(super) fn place_call(
        &mut self,
        o: Originate,
        reply: oneshot::Sender<Result<CallId, OriginateError>>,
        found: Option<&Found>,
    ) {
        let entry = match self.entry_for(&o.tenant, found) {
            Some(e) => e,
            None => return self.wait_for(o.tenant.clone(), Parked::Originate { o, reply }),
        };
        let _ = reply.send(self.originate_call(o, entry));
    }

    fn originate_call(
        &mut self,
        o: Originate,
        entry: Option<Arc<TenantEntry>>,
    ) -> Result<CallId, OriginateError> {
        let entry = match entry {
            Some(e) if e.agent(&o.agent).is_some() => e,
            _ => return Err(OriginateError::UnknownAgent),
        };
        let trunk = entry.trunk.as_ref().ok_or(OriginateError::NoTrunk)?;
        let number = |field: &'static str, raw: &str| {
            normalize_phone(raw, &entry.phone_region).map_err(|e| OriginateError::Invalid {
                field,
                message: e.to_string(),
            })
        };
        let to = number("to", &o.to)?;
        let via_trunk = |number: String| Target {
            user: None,
            dest: Dest::Trunk {
                number,
                caller_id: trunk.number.clone(),
            },
        };
        let (direction, first) = match &o.agent_phone {
            Some(p) => (
                Direction::Callback,
                vec![via_trunk(number("agent_phone", p)?)],
            ),
            None => {
                let devices = self.devices(&o.tenant, &o.agent);
                if devices.is_empty() {
                    return Err(OriginateError::NotReachable);
                }
                (Direction::Outbound, devices)
            }
        };
        let now = wall_ms();
        let ulid = ulid::Ulid::from_parts(now as u64, u128::from(self.next_random()));
        let call =
            CallId::parse(ulid.to_string()).map_err(|e| OriginateError::Engine(e.to_string()))?;
        self.engine
            .originate(
                now,
                OriginatedCall {
                    call: call.clone(),
                    tenant: o.tenant.clone(),
                    direction,
                    agent: o.agent.clone(),
                    from: trunk.number.clone(),
                    to: to.clone(),
                    client: None,
                    line: Some(trunk.name.clone()),
                    first,
                    then: vec![via_trunk(to)],
                },
            )
            .map_err(|e| OriginateError::Engine(e.to_string()))?;
        tracing::info!(call = %call, tenant = %o.tenant, agent = %o.agent, ?direction, "call placed");
        Ok(call)
    }

    pub(super) fn on_control(&mut self, c: Control) {
        match c {
            Control::Calls(reply) => {
                let _ = reply.send(self.engine.calls());
            }
            Control::Hangup(call, reply) => {
                let r = self
                    .engine
                    .hangup_call(wall_ms(), &call)
                    .map_err(|e| e.to_string());
                let _ = reply.send(r);
            }
            Control::Hold(call, on, reply) => {
                let r = self.engine.hold_call(&call, on);
                if r.is_ok() {
                    tracing::info!(call = %call, on, "call held from the control API");
                }
                let _ = reply.send(r);
            }
            Control::Originate(o, reply) => self.place_call(o, reply, None),
            Control::Refresh(reply) => self.start_refresh(Some(reply)),
        }
    }
}
