//! The companies' trunks: read from the store, their addresses resolved,
//! registrations kept up, and their state shown to the settings page.

use super::*;

impl Ua {
    pub(super) async fn housekeeping(&mut self) {
        let now = Instant::now();
        self.guard.purge(now);
        if let Err(e) = self.directory.reload_all(wall_ms()).await {
            tracing::warn!(error = %e, "directory not refreshed");
            return;
        }
        let entries: Vec<Arc<TenantEntry>> = self.directory.cached().cloned().collect();
        let mut by_addr = HashMap::new();
        let mut seen = Vec::new();
        for e in entries {
            let Some(trunk) = e.trunk.clone() else {
                continue;
            };
            let addr = match tokio::net::lookup_host((trunk.host.as_str(), trunk.port)).await {
                Ok(mut a) => a.next(),
                Err(_) => None,
            };
            let Some(addr) = addr else {
                self.set_status(
                    &e.tenant,
                    TrunkStatus::Failed {
                        code: None,
                        reason: format!("host {} not found", trunk.host),
                    },
                )
                .await;
                continue;
            };
            by_addr.insert(addr, e.tenant.clone());
            seen.push(e.tenant.clone());
            let changed = self
                .trunks
                .get(&e.tenant)
                .is_none_or(|t| t.trunk != trunk || t.peer.addr != addr);
            if changed {
                let registration = trunk.register.then(|| {
                    let mut r = Registration::new(
                        self.registration_config(&trunk),
                        self.seq ^ addr.port() as u64,
                    );
                    r.start(now);
                    r
                });
                if registration.is_none() {
                    self.set_status(&e.tenant, TrunkStatus::NotRegistering)
                        .await;
                }
                self.trunks.insert(
                    e.tenant.clone(),
                    TrunkState {
                        trunk,
                        peer: Peer::udp(addr),
                        registration,
                        reach: None,
                    },
                );
            }
        }
        self.trunks.retain(|t, _| seen.contains(t));
        self.trunk_by_addr = by_addr;
        self.qualify_trunks();
    }

    /// Sends OPTIONS to each trunk the company asked to check, unless the
    /// last one is still out.
    fn qualify_trunks(&mut self) {
        let due: Vec<(TenantId, Trunk, Peer)> = self
            .trunks
            .iter()
            .filter(|(t, st)| st.trunk.qualify && !self.qualify_tx.values().any(|(q, _)| q == *t))
            .map(|(t, st)| (t.clone(), st.trunk.clone(), st.peer))
            .collect();
        for (t, trunk, peer) in due {
            let host =
                Host::parse(&trunk.host).unwrap_or_else(|_| Host::Domain(trunk.host.clone()));
            let domain = Host::parse(trunk.sip_domain())
                .unwrap_or_else(|_| Host::Domain(trunk.sip_domain().into()));
            let from = NameAddr::new(Uri::Sip(
                SipUri::new(domain.clone()).with_user(&trunk.login),
            ));
            let tag = self.endpoint.ids().tag();
            let call_id = self
                .endpoint
                .ids()
                .call_id(Some(&self.local.ip().to_string()));
            let via = self.via(peer);
            let options = Request::builder(
                Method::Options,
                Uri::Sip(SipUri::new(host).with_port(trunk.port)),
            )
            .via(&via)
            .from(&from.with_tag(&tag))
            .to(&NameAddr::new(Uri::Sip(SipUri::new(domain))))
            .call_id(&call_id)
            .cseq(1)
            .build();
            let now = Instant::now();
            match self.endpoint.send_request(now, peer, options) {
                Ok(tx) => {
                    self.qualify_tx.insert(tx, (t, now));
                }
                Err(e) => tracing::warn!(tenant = %t, error = %e, "OPTIONS not sent"),
            }
        }
    }

    /// The trunk answered our OPTIONS (`rtt`) or did not (`None`).
    pub(super) async fn trunk_reached(&mut self, t: &TenantId, rtt: Option<Duration>) {
        let Some(st) = self.trunks.get_mut(t) else {
            return;
        };
        let reach = match (rtt, &st.reach) {
            (Some(rtt), _) => TrunkReach::Reachable {
                rtt_ms: rtt.as_millis().try_into().unwrap_or(u32::MAX),
                at: wall_ms(),
            },
            // Unreachable since the first miss, not the latest.
            (None, Some(r @ TrunkReach::Unreachable { .. })) => r.clone(),
            (None, _) => TrunkReach::Unreachable { since: wall_ms() },
        };
        if matches!(reach, TrunkReach::Unreachable { .. }) && st.reach.as_ref() != Some(&reach) {
            tracing::warn!(tenant = %t, "trunk does not answer OPTIONS");
        }
        st.reach = Some(reach.clone());
        if let Err(e) = self.repos.telephony.set_trunk_reach(t, &reach).await {
            tracing::warn!(tenant = %t, error = %e, "trunk reach not saved");
        }
    }

    pub(super) fn registration_config(&self, trunk: &Trunk) -> RegistrationConfig {
        let domain = Host::parse(trunk.sip_domain())
            .unwrap_or_else(|_| Host::Domain(trunk.sip_domain().into()));
        let host = Host::parse(&trunk.host).unwrap_or_else(|_| Host::Domain(trunk.host.clone()));
        RegistrationConfig {
            registrar: Uri::Sip(SipUri::new(host).with_port(trunk.port)),
            aor: Uri::Sip(SipUri::new(domain).with_user(&trunk.login)),
            contact: NameAddr::new(self.local_uri(&trunk.login)),
            via: Via::new(
                "UDP",
                Host::parse(&self.local.ip().to_string())
                    .unwrap_or_else(|_| Host::Domain("localhost".into())),
                Some(self.local.port()),
                "",
            ),
            username: trunk.login.clone(),
            password: trunk.password.clone(),
            expires: 600,
            retry_min: Duration::from_secs(5),
            retry_max: Duration::from_secs(300),
            user_agent: Some("Callisto".into()),
        }
    }

    pub(super) async fn pump_registrations(&mut self) -> bool {
        let mut busy = false;
        let mut sends = Vec::new();
        let mut states = Vec::new();
        for (t, st) in self.trunks.iter_mut() {
            let Some(r) = st.registration.as_mut() else {
                continue;
            };
            while let Some(req) = r.poll_request() {
                sends.push((t.clone(), st.peer, req));
            }
            while let Some(s) = r.poll_state() {
                states.push((t.clone(), s));
            }
        }
        for (t, peer, mut req) in sends {
            busy = true;
            // The registration leaves the branch to the endpoint.
            let via = self.via(peer);
            req.headers.set(HeaderName::Via, via.to_string());
            match self.endpoint.send_request(Instant::now(), peer, req) {
                Ok(tx) => {
                    self.reg_tx.insert(tx, t);
                }
                Err(e) => tracing::warn!(tenant = %t, error = %e, "REGISTER not sent"),
            }
        }
        for (t, s) in states {
            busy = true;
            let status = match s {
                RegState::Unregistered => TrunkStatus::Disabled,
                RegState::Registering => TrunkStatus::Registering,
                RegState::Registered { expires_at } => TrunkStatus::Registered {
                    until: wall_ms()
                        + expires_at
                            .saturating_duration_since(Instant::now())
                            .as_millis() as Millis,
                },
                RegState::Failed { status, reason } => TrunkStatus::Failed {
                    code: Some(status),
                    reason,
                },
                RegState::Timeout => TrunkStatus::Failed {
                    code: None,
                    reason: "the trunk does not answer".into(),
                },
            };
            tracing::info!(tenant = %t, ?status, "trunk registration");
            self.set_status(&t, status).await;
        }
        busy
    }

    pub(super) async fn set_status(&self, t: &TenantId, s: TrunkStatus) {
        if let Err(e) = self.repos.telephony.set_trunk_status(t, &s).await {
            tracing::warn!(tenant = %t, error = %e, "trunk status not saved");
        }
    }
}
