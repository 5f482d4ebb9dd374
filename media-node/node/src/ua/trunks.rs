//! The companies' trunks: read from the store, their addresses resolved,
//! registrations kept up, and their state shown to the settings page.

use super::*;

impl Ua {
    /// Every `trunk_refresh`: bans run out, and the companies are read again.
    pub(super) fn housekeeping(&mut self) {
        self.guard.purge(Instant::now());
        self.log_waiting_refusals();
        if self.refresh.in_flight == 0 {
            self.start_refresh(None);
        }
    }

    /// Reads every company and resolves its trunk's host in a task of its
    /// own: a slow store or DNS server never holds up the SIP task. The
    /// result comes back to the run loop ([`Ua::on_refreshed`]), and `done`
    /// is told once it is applied.
    pub(super) fn start_refresh(&mut self, done: Option<oneshot::Sender<()>>) {
        self.refresh.in_flight += 1;
        self.refresh.started += 1;
        let generation = self.refresh.started;
        let repos = self.repos.clone();
        let back = self.refreshed.clone();
        tokio::spawn(async move {
            let at = wall_ms();
            let companies = read_companies(&repos, at).await;
            let _ = back.send(Refreshed {
                generation,
                at,
                companies,
                done,
            });
        });
    }

    pub(super) async fn on_refreshed(&mut self, r: Refreshed) {
        self.refresh.in_flight -= 1;
        // A read that finished after a later one has nothing newer to say.
        if r.generation > self.refresh.applied {
            self.refresh.applied = r.generation;
            match r.companies {
                Ok(companies) => self.apply_companies(companies, r.at).await,
                Err(e) => tracing::warn!(error = %e, "directory not refreshed"),
            }
        }
        if let Some(done) = r.done {
            let _ = done.send(());
        }
    }

    /// The companies as just read: the directory takes them, and trunks that
    /// are new or changed get their registration, check and connection.
    async fn apply_companies(&mut self, companies: Vec<Company>, at: Millis) {
        let now = Instant::now();
        self.directory
            .replace_all(companies.iter().map(|c| c.entry.clone()).collect(), at);
        let mut by_addr = HashMap::new();
        let mut seen = Vec::new();
        for Company {
            entry: e,
            trunk_addr,
        } in companies
        {
            let Some(trunk) = e.trunk.clone() else {
                continue;
            };
            let addr = match trunk_addr {
                Some(Ok(addr)) => addr,
                Some(Err(reason)) => {
                    self.set_status(&e.tenant, TrunkStatus::Failed { code: None, reason })
                        .await;
                    continue;
                }
                None => continue,
            };
            by_addr.insert(addr, e.tenant.clone());
            seen.push(e.tenant.clone());
            let changed = self
                .trunks
                .get(&e.tenant)
                .is_none_or(|t| t.trunk != trunk || t.peer.addr != addr);
            let stream = trunk.transport != SipTransport::Udp;
            if changed {
                let registration = trunk.register.then(|| {
                    Registration::new(
                        self.registration_config(&trunk),
                        self.seq ^ addr.port() as u64,
                    )
                });
                if registration.is_none() {
                    self.set_status(&e.tenant, TrunkStatus::NotRegistering)
                        .await;
                }
                let peer = match trunk.transport {
                    SipTransport::Udp => Peer::udp(addr),
                    SipTransport::Tcp => Peer::stream(Transport::Tcp, addr, None),
                    SipTransport::Tls => Peer::stream(Transport::Tls, addr, None),
                };
                self.trunks.insert(
                    e.tenant.clone(),
                    TrunkState {
                        trunk: trunk.clone(),
                        peer,
                        registration,
                        qualify: None,
                        reach: None,
                        connecting: false,
                    },
                );
                if !stream {
                    self.trunk_up(&e.tenant, now);
                }
            }
            // A trunk over TCP or TLS needs its connection: opened in the
            // background (the SIP task goes on meanwhile) for a new trunk,
            // and again when it dropped.
            if stream && let Some(st) = self.trunks.get_mut(&e.tenant) {
                let alive = st.peer.conn.is_some_and(|c| self.flows.contains_key(&c));
                if !alive && !st.connecting {
                    st.connecting = true;
                    self.open_trunk_connection(e.tenant.clone(), &trunk, addr);
                }
            }
        }
        self.trunks.retain(|t, _| seen.contains(t));
        self.trunk_by_addr = by_addr;
    }

    /// An answer to the trunk's OPTIONS, or its transaction's failure
    /// (`None`): the check's state goes to the settings page.
    pub(super) async fn trunk_checked(&mut self, t: &TenantId, resp: Option<&Response>) {
        let Some(st) = self.trunks.get_mut(t) else {
            return;
        };
        let Some(q) = st.qualify.as_mut() else {
            return;
        };
        let now = Instant::now();
        match resp {
            Some(r) => q.handle_response(now, r),
            None => q.handle_tx_timeout(now),
        }
        while q.poll_state().is_some() {}
        let reach = match (q.state(), &st.reach) {
            (Reachability::Reachable { rtt }, _) => TrunkReach::Reachable {
                rtt_ms: rtt.as_millis().try_into().unwrap_or(u32::MAX),
                at: wall_ms(),
            },
            // Unreachable since the first miss, not the latest.
            (Reachability::Unreachable, Some(r @ TrunkReach::Unreachable { .. })) => r.clone(),
            (Reachability::Unreachable, _) => {
                tracing::warn!(tenant = %t, "trunk does not answer OPTIONS");
                TrunkReach::Unreachable { since: wall_ms() }
            }
            (Reachability::Unknown, _) => return,
        };
        st.reach = Some(reach.clone());
        if let Err(e) = self.repos.telephony.set_trunk_reach(t, &reach).await {
            tracing::warn!(tenant = %t, error = %e, "trunk reach not saved");
        }
    }

    /// The trunk can be reached (at once over UDP, once connected over TCP
    /// or TLS): its registration starts, and its OPTIONS check if asked for.
    fn trunk_up(&mut self, t: &TenantId, now: Instant) {
        let Some(trunk) = self.trunks.get(t).map(|st| st.trunk.clone()) else {
            return;
        };
        let qualify = trunk.qualify.then(|| {
            let seed = self.seq ^ u64::from(trunk.port) ^ 0x0971;
            Qualify::new(self.qualify_config(&trunk), now, seed)
        });
        if let Some(st) = self.trunks.get_mut(t) {
            if let Some(r) = st.registration.as_mut() {
                r.start(now);
            }
            st.qualify = qualify;
        }
    }

    /// Opens a connection to a TCP or TLS trunk in its own task; the
    /// outcome comes back to the run loop ([`Ua::on_trunk_connected`]).
    fn open_trunk_connection(&self, tenant: TenantId, trunk: &Trunk, addr: SocketAddr) {
        let (transport, tls) = match trunk.transport {
            SipTransport::Udp => return,
            SipTransport::Tcp => (Transport::Tcp, None),
            SipTransport::Tls => (
                Transport::Tls,
                Some((
                    tokio_rustls::TlsConnector::from(self.trunk_tls.clone()),
                    rustls_pki_types::ServerName::try_from(trunk.host.clone())
                        .map_err(|e| format!("{} is not a name for TLS: {e}", trunk.host)),
                )),
            ),
        };
        let events = self.flow_events.clone();
        let back = self.trunk_connected.clone();
        tokio::spawn(async move {
            let result = match tls {
                None => crate::tcp::connect(addr, None, events)
                    .await
                    .map_err(|e| e.to_string()),
                Some((_, Err(e))) => Err(e),
                Some((connector, Ok(name))) => {
                    crate::tcp::connect(addr, Some((connector, name)), events)
                        .await
                        .map_err(|e| e.to_string())
                }
            };
            let result =
                result.map_err(|e| format!("{transport} connection to {addr} failed: {e}"));
            let _ = back.send(TrunkConnected {
                tenant,
                addr,
                transport,
                result,
            });
        });
    }

    /// A trunk's connection is open (its flow joins the others) or failed.
    pub(super) async fn on_trunk_connected(&mut self, c: TrunkConnected) {
        let TrunkConnected {
            tenant,
            addr,
            transport,
            result,
        } = c;
        let Some(st) = self
            .trunks
            .get_mut(&tenant)
            .filter(|st| st.peer.addr == addr)
        else {
            return;
        };
        st.connecting = false;
        match result {
            Ok((conn, send)) => {
                self.flows.insert(conn, send);
                st.peer = Peer::stream(transport, addr, Some(conn));
                tracing::info!(tenant = %tenant, %addr, %transport, "trunk connection opened");
                self.trunk_up(&tenant, Instant::now());
            }
            Err(reason) => {
                tracing::warn!(tenant = %tenant, %reason, "trunk connection failed");
                self.set_status(&tenant, TrunkStatus::Failed { code: None, reason })
                    .await;
            }
        }
    }

    /// OPTIONS to the trunk every `trunk_check_every`, from its login.
    fn qualify_config(&self, trunk: &Trunk) -> QualifyConfig {
        let domain = Host::parse(trunk.sip_domain())
            .unwrap_or_else(|_| Host::Domain(trunk.sip_domain().into()));
        let host = Host::parse(&trunk.host).unwrap_or_else(|_| Host::Domain(trunk.host.clone()));
        QualifyConfig {
            target: Uri::Sip(SipUri::new(host).with_port(trunk.port)),
            from: Uri::Sip(SipUri::new(domain).with_user(&trunk.login)),
            // The pump puts the Via of the trunk's transport in its place.
            via: Via::new("UDP", Host::Domain("localhost".into()), None, ""),
            interval: self.cfg.trunk_check_every,
        }
    }

    pub(super) fn registration_config(&self, trunk: &Trunk) -> RegistrationConfig {
        let domain = Host::parse(trunk.sip_domain())
            .unwrap_or_else(|_| Host::Domain(trunk.sip_domain().into()));
        let host = Host::parse(&trunk.host).unwrap_or_else(|_| Host::Domain(trunk.host.clone()));
        RegistrationConfig {
            registrar: Uri::Sip(SipUri::new(host).with_port(trunk.port)),
            aor: Uri::Sip(SipUri::new(domain).with_user(&trunk.login)),
            contact: NameAddr::new(match trunk.transport {
                SipTransport::Udp => self.local_uri(&trunk.login),
                // TCP listens on the UDP port's number.
                SipTransport::Tcp => self
                    .local_uri(&trunk.login)
                    .with_param("transport", Some("tcp")),
                SipTransport::Tls => {
                    let at = self.tls_local.unwrap_or(self.local);
                    SipUri::new(
                        Host::parse(&at.ip().to_string())
                            .unwrap_or_else(|_| Host::Domain("localhost".into())),
                    )
                    .with_user(&trunk.login)
                    .with_port(at.port())
                    .with_param("transport", Some("tls"))
                }
            }),
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
        let mut checks = Vec::new();
        for (t, st) in self.trunks.iter_mut() {
            if let Some(q) = st.qualify.as_mut() {
                while let Some(req) = q.poll_request() {
                    checks.push((t.clone(), st.peer, req));
                }
            }
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
        for (t, peer, mut req) in sends.into_iter().chain(checks) {
            busy = true;
            // The state machines leave the Via (and its branch) to the endpoint.
            let via = self.via(peer);
            req.headers.set(HeaderName::Via, via.to_string());
            let options = req.method == Method::Options;
            match self.endpoint.send_request(Instant::now(), peer, req) {
                Ok(tx) if options => {
                    self.qualify_tx.insert(tx, t);
                }
                Ok(tx) => {
                    self.reg_tx.insert(tx, t);
                }
                Err(e) => tracing::warn!(tenant = %t, error = %e, "request to the trunk not sent"),
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

/// How long a trunk's host may take to resolve before the refresh gives up on it.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);

/// A company as a refresh read it, with where its trunk's host resolved to
/// (`None`: no trunk).
pub(crate) struct Company {
    entry: Arc<TenantEntry>,
    trunk_addr: Option<Result<SocketAddr, String>>,
}

/// A refresh's outcome, back in the SIP task.
pub(crate) struct Refreshed {
    generation: u64,
    at: Millis,
    companies: Result<Vec<Company>, RepoError>,
    done: Option<oneshot::Sender<()>>,
}

/// Refreshes started, still running, and the latest applied.
#[derive(Debug, Default)]
pub(super) struct RefreshState {
    pub(super) started: u64,
    pub(super) in_flight: usize,
    pub(super) applied: u64,
}

/// Every company from the store, their trunks' hosts resolved side by side.
async fn read_companies(repos: &Repos, at: Millis) -> Result<Vec<Company>, RepoError> {
    let entries = crate::directory::load_all(repos, at).await?;
    let lookups = entries.into_iter().map(|e| async move {
        let trunk_addr = match &e.trunk {
            Some(trunk) => Some(resolve(&trunk.host, trunk.port).await),
            None => None,
        };
        Company {
            entry: Arc::new(e),
            trunk_addr,
        }
    });
    Ok(futures_util::future::join_all(lookups).await)
}

async fn resolve(host: &str, port: u16) -> Result<SocketAddr, String> {
    match tokio::time::timeout(RESOLVE_TIMEOUT, tokio::net::lookup_host((host, port))).await {
        Ok(Ok(mut addrs)) => addrs.next().ok_or_else(|| format!("host {host} not found")),
        Ok(Err(_)) => Err(format!("host {host} not found")),
        Err(_) => Err(format!(
            "host {host} not resolved within {} s",
            RESOLVE_TIMEOUT.as_secs()
        )),
    }
}
