//! Requests from phones, browsers and trunks: REGISTER with digest, new
//! INVITEs routed through the engine, and requests inside a call's dialog.

use super::*;

impl Ua {
    pub(super) async fn on_event(&mut self, ev: Event) {
        match ev {
            Event::Request { tx, from, request } => self.on_request(tx, from, request, None).await,
            Event::Response { tx, response } => self.on_response(tx, response).await,
            Event::Cancelled { tx, .. } => {
                if self.cancel_waiting(tx) {
                    return;
                }
                if let Some(&leg) = self.by_tx.get(&tx) {
                    self.final_response(leg, 487, "Request Terminated");
                    self.engine.handle_hangup(wall_ms(), leg, true);
                    self.drop_leg(leg);
                }
            }
            Event::Timeout { tx } | Event::TransportError { tx } => {
                if let Some(t) = self.qualify_tx.remove(&tx) {
                    self.trunk_checked(&t, None).await;
                } else if let Some(t) = self.reg_tx.remove(&tx) {
                    if let Some(r) = self
                        .trunks
                        .get_mut(&t)
                        .and_then(|t| t.registration.as_mut())
                    {
                        r.handle_tx_timeout(Instant::now());
                    }
                } else if let Some(&leg) = self.by_tx.get(&tx) {
                    let incoming = self.legs.get(&leg).is_some_and(|l| l.incoming);
                    if incoming {
                        // Our answer was never acknowledged: the caller is gone.
                        self.engine.handle_hangup(wall_ms(), leg, false);
                    } else {
                        self.engine
                            .handle_failed(wall_ms(), leg, 408, "Request Timeout");
                    }
                    self.drop_leg(leg);
                }
            }
            Event::Ack { .. } | Event::StrayAck { .. } | Event::StrayResponse { .. } => {}
        }
    }

    /// A request from the network; `found` is its company's read when it
    /// resumes after waiting for it ([`Ua::wait_for`]).
    pub(super) async fn on_request(
        &mut self,
        tx: TxId,
        from: Peer,
        req: Request,
        found: Option<&Found>,
    ) {
        let in_dialog = req
            .headers
            .to_addr()
            .ok()
            .is_some_and(|to| to.tag().is_some());
        if in_dialog {
            return self.on_dialog_request(tx, req);
        }
        match req.method {
            Method::Register => self.on_register(tx, from, req, found),
            Method::Invite => self.on_invite(tx, from, req, found).await,
            Method::Options => self.reply(tx, &req, 200, None),
            Method::Bye | Method::Info => self.reply(tx, &req, 481, None),
            Method::Other(ref m) => {
                tracing::info!(method = %m, source = %from.addr, "unknown method");
                self.reply(tx, &req, 501, None)
            }
            _ => self.reply(tx, &req, 405, None),
        }
    }

    /// How old a tenant's cached entry must be before a refused digest reads
    /// it again.
    const RELOAD_BEFORE_REFUSING_MS: Millis = 1_000;

    /// Checks an agent's digest credentials and answers the challenge or
    /// the refusal itself, unless the company must be read first.
    pub(super) fn authenticate(
        &mut self,
        tx: TxId,
        from: Peer,
        req: &Request,
        found: Option<&Found>,
    ) -> Auth {
        let now = wall_ms();
        let now_secs = now as u64 / 1000;
        let creds = req
            .headers
            .credentials(false)
            .ok()
            .and_then(|c| c.into_iter().find(|c| c.is_digest()));
        let Some(creds) = creds else {
            self.challenge(tx, req, false);
            return Auth::Answered;
        };
        let username = creds.get("username").unwrap_or_default().to_string();
        // Credentials that cannot pass whoever the user is (a nonce not
        // issued with our secret, above all) cost no read of the company: a
        // flood must first get our challenge at its real address, where the
        // guard can shut it out.
        if let Some(why) = self.digest.refusal_before_lookup(&creds) {
            self.refuse_credentials(tx, from, req, &username, why);
            return Auth::Answered;
        }
        let entry = match parse_sip_username(&username) {
            Some((t, u)) => match self.entry_for(&t, found) {
                Some(e) => e.map(|e| (e, u)),
                None => {
                    return Auth::Wait {
                        tenant: t,
                        recheck: false,
                    };
                }
            },
            None => None,
        };
        let verdict = self.digest.verify(now_secs, &req.method, &creds, |_, alg| {
            let (e, u) = entry.as_ref()?;
            e.agent(u)?;
            let c = e.credentials.get(u)?;
            Some(match alg {
                Algorithm::Md5 => c.ha1_md5.clone(),
                Algorithm::Sha256 => c.ha1_sha256.clone(),
            })
        });
        match verdict {
            Verdict::Ok { .. } => match entry {
                Some((e, u)) => {
                    self.guard.success(from.addr.ip());
                    Auth::Ok(e, u)
                }
                // The HA1 came from the entry, so there is one; refused all the same if not.
                None => {
                    self.refuse_credentials(tx, from, req, &username, "unknown user");
                    Auth::Answered
                }
            },
            Verdict::Stale => {
                self.challenge(tx, req, true);
                Auth::Answered
            }
            // A count already used on this nonce: a replay (RFC 7616 §3.4,
            // RFC 2617 §3.2.2) or a client that resent. Not a 403 and not a
            // guard failure: the response was right, so the 401 carries
            // stale=true, which (RFC 7616 §3.3) tells an honest client to
            // retry with the fresh nonce without asking its user again; a
            // replayer without the password cannot answer it.
            Verdict::Replayed => {
                tracing::info!(source = %from.addr, user = %username, "nonce-count replayed; challenged again");
                self.challenge(tx, req, true);
                Auth::Answered
            }
            Verdict::Rejected(why) => {
                // A password set a moment ago may not be in the cached entry
                // yet: before refusing, read the company again (at most once
                // a second), unless this request comes from such a read.
                if found.is_none()
                    && let Some((e, _)) = &entry
                    && self
                        .directory
                        .may_recheck(&e.tenant, now, Self::RELOAD_BEFORE_REFUSING_MS)
                {
                    return Auth::Wait {
                        tenant: e.tenant.clone(),
                        recheck: true,
                    };
                }
                self.refuse_credentials(tx, from, req, &username, why);
                Auth::Answered
            }
        }
    }

    /// 403 to credentials that do not check out, counted by the guard.
    fn refuse_credentials(
        &mut self,
        tx: TxId,
        from: Peer,
        req: &Request,
        username: &str,
        why: &str,
    ) {
        tracing::info!(source = %from.addr, user = %username, reason = why, "authentication failed");
        if self.guard.failure(Instant::now(), from.addr.ip()) {
            tracing::warn!(source = %from.addr, "too many failed authentications; address banned");
        }
        self.reply(tx, req, 403, Some(&format!("Forbidden ({why})")));
    }

    pub(super) fn challenge(&mut self, tx: TxId, req: &Request, stale: bool) {
        let now_secs = wall_ms() as u64 / 1000;
        let tag = self.endpoint.ids().tag();
        let mut resp = Response::from_request(req, 401, Some(&tag));
        // MD5 first: many clients (JsSIP, sipp, older desk phones) answer the
        // first challenge and know no SHA-256; those that do pick it from the second.
        let algorithms: &[Algorithm] = if self.cfg.sha256_challenge {
            &[Algorithm::Md5, Algorithm::Sha256]
        } else {
            &[Algorithm::Md5]
        };
        for &alg in algorithms {
            let c = self
                .digest
                .challenge(now_secs, alg, stale, self.endpoint.ids());
            resp.headers
                .push(HeaderName::WwwAuthenticate, c.to_string());
        }
        self.respond(tx, resp);
    }

    pub(super) fn on_register(
        &mut self,
        tx: TxId,
        from: Peer,
        mut req: Request,
        found: Option<&Found>,
    ) {
        let (entry, user) = match self.authenticate(tx, from, &req, found) {
            Auth::Ok(e, u) => (e, u),
            Auth::Answered => return,
            Auth::Wait { tenant, recheck } => {
                return self.wait_sip(tenant, tx, from, req, recheck);
            }
        };
        // An agent registers its own account only.
        let own = sip_username(&entry.tenant, &user);
        let to_user = req
            .headers
            .to_addr()
            .ok()
            .and_then(|to| to.uri.as_sip().and_then(|u| u.user_unescaped()));
        if to_user.as_deref() != Some(own.as_str()) {
            return self.reply(tx, &req, 403, Some("Forbidden (not your account)"));
        }
        // Bindings are kept under the node's realm whatever host the phone used.
        let aor = self.aor(&own);
        req.headers
            .set(HeaderName::To, NameAddr::new(aor).to_string());
        let resp = self.registrar.handle_register(Instant::now(), from, &req);
        tracing::info!(user = %own, source = %from.addr, status = resp.status, "register");
        self.respond(tx, resp);
    }

    pub(super) fn aor(&self, username: &str) -> Uri {
        Uri::Sip(SipUri::new(Host::Domain(self.cfg.realm.clone())).with_user(username))
    }

    /// Devices an agent can be reached on now.
    pub(super) fn devices(&mut self, tenant: &TenantId, user: &UserId) -> Vec<Target> {
        let aor = self.aor(&sip_username(tenant, user));
        let bindings: Vec<(String, Peer)> = self
            .registrar
            .lookup(Instant::now(), &aor)
            .into_iter()
            .map(|b| (b.contact.uri.to_string(), b.source))
            .collect();
        bindings
            .into_iter()
            .map(|(contact, peer)| {
                self.device_peers.insert(contact.clone(), peer);
                Target {
                    user: Some(user.clone()),
                    dest: Dest::Device { contact },
                }
            })
            .collect()
    }

    pub(super) async fn on_invite(
        &mut self,
        tx: TxId,
        from: Peer,
        req: Request,
        found: Option<&Found>,
    ) {
        let body = req.body.clone();
        let offer_text = std::str::from_utf8(&body).unwrap_or_default();
        let offer = match std::str::from_utf8(&req.body)
            .map_err(|_| "not UTF-8".to_string())
            .and_then(|s| Session::parse(s).map_err(|e| e.to_string()))
        {
            Ok(o) => o,
            Err(_) if req.body.is_empty() => {
                return self.reply(
                    tx,
                    &req,
                    488,
                    Some("Not Acceptable Here (an SDP offer is required)"),
                );
            }
            Err(e) => return self.reply(tx, &req, 400, Some(&format!("Bad Request (SDP: {e})"))),
        };
        if offer.first_audio(&CODECS).is_none() {
            return self.reply(tx, &req, 488, Some("Not Acceptable Here (no PCMU or PCMA)"));
        }
        let dialled = req
            .uri
            .as_sip()
            .and_then(|u| u.user_unescaped())
            .unwrap_or_default();
        let caller_user = req
            .headers
            .from_addr()
            .ok()
            .and_then(|f| f.uri.as_sip().and_then(|u| u.user_unescaped()))
            .unwrap_or_default();

        // The trunk is known by its address; anyone else is an agent who must log in.
        let (entry, caller) = match self.trunk_by_addr.get(&from.addr).cloned() {
            Some(t) => match self.entry_for(&t, found) {
                Some(Some(e)) => (e, Caller::Trunk),
                // The trunk's company is gone from the store.
                Some(None) => return self.reply(tx, &req, 503, None),
                None => {
                    return self.wait_sip(t, tx, from, req, false);
                }
            },
            None => match self.authenticate(tx, from, &req, found) {
                Auth::Ok(e, u) => (e, Caller::Agent(u)),
                Auth::Answered => return,
                Auth::Wait { tenant, recheck } => {
                    return self.wait_sip(tenant, tx, from, req, recheck);
                }
            },
        };
        // Each agent's devices, looked up once: who is reachable, and where.
        let mut devices: HashMap<UserId, Vec<Target>> = HashMap::new();
        for a in &entry.agents {
            let d = self.devices(&entry.tenant, &a.id);
            if !d.is_empty() {
                devices.insert(a.id.clone(), d);
            }
        }
        let reachable: Vec<UserId> = entry
            .agents
            .iter()
            .filter(|a| devices.contains_key(&a.id))
            .map(|a| a.id.clone())
            .collect();
        let dir = callisto_engine::Directory {
            tenant: Some(entry.tenant.clone()),
            phone_region: entry.phone_region.clone(),
            trunk: entry.trunk.as_ref().map(|t| TrunkLine {
                name: t.name.clone(),
                number: t.number.clone(),
            }),
            extensions: entry.extensions(),
            reachable,
            away: entry
                .states
                .iter()
                .filter_map(|(u, s)| {
                    callisto_engine::away(s, wall_ms()).map(|why| (u.clone(), why))
                })
                .collect(),
        };
        let route = callisto_engine::route(&dir, &caller, &dialled);
        let (direction, from_party, agent) = match &caller {
            Caller::Trunk => (
                Direction::Inbound,
                normalize_phone(&caller_user, &entry.phone_region).unwrap_or(caller_user),
                None,
            ),
            Caller::Agent(u) => {
                let ext = entry
                    .agent(u)
                    .and_then(|a| a.short_number.clone())
                    .unwrap_or_else(|| u.to_string());
                let direction = match route {
                    Ok(Route::Trunk { .. }) | Err(_) => Direction::Outbound,
                    Ok(Route::Agents(_)) | Ok(Route::Echo) => Direction::Internal,
                };
                (direction, ext, Some(u.clone()))
            }
        };
        let (plan, to, line, from_shown) = match route {
            Ok(Route::Trunk {
                number,
                caller_id,
                line,
            }) => {
                let target = Target {
                    user: None,
                    dest: Dest::Trunk {
                        number: number.clone(),
                        caller_id: caller_id.clone(),
                    },
                };
                // What the customer sees is the trunk's number; the agent is in `agent`.
                let plan = Plan::Dial {
                    targets: vec![target],
                };
                (plan, number, Some(line), caller_id)
            }
            Ok(Route::Agents(users)) => {
                let targets: Vec<Target> = users
                    .iter()
                    .filter_map(|u| devices.remove(u))
                    .flatten()
                    .collect();
                let line = match caller {
                    Caller::Trunk => entry.trunk.as_ref().map(|t| t.name.clone()),
                    Caller::Agent(_) => None,
                };
                (Plan::Dial { targets }, dialled.clone(), line, from_party)
            }
            Ok(Route::Echo) => (Plan::Echo, dialled.clone(), None, from_party),
            Err(refusal) => {
                let (code, reason) = refusal.sip_status();
                tracing::info!(dialled = %dialled, reason = %refusal, "call refused");
                let plan = Plan::Refuse {
                    code,
                    reason: format!("{reason} ({refusal})"),
                };
                (plan, dialled.clone(), None, from_party)
            }
        };
        let now = wall_ms();
        let ulid = ulid::Ulid::from_parts(now as u64, u128::from(self.next_random()));
        let Ok(call) = CallId::parse(ulid.to_string()) else {
            return self.reply(tx, &req, 500, None);
        };
        let rtp = match self.bind_rtp().await {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(error = %e, "no RTP port");
                return self.reply(tx, &req, 503, Some("Service Unavailable (no media port)"));
            }
        };
        let incoming = IncomingCall {
            call: call.clone(),
            tenant: entry.tenant.clone(),
            direction,
            from: from_shown,
            to,
            agent,
            client: None,
            line,
            plan,
        };
        match self.engine.handle_incoming(now, incoming) {
            Ok(leg) => {
                tracing::info!(call = %call, tenant = %entry.tenant, ?direction, dialled = %dialled, "call started");
                self.by_tx.insert(tx, leg);
                self.legs.insert(
                    leg,
                    Leg {
                        call,
                        peer: from,
                        invite: req,
                        tx,
                        incoming: true,
                        dialog: None,
                        rtp,
                        webrtc_offer: webrtc::is_webrtc(offer_text).then(|| offer_text.to_string()),
                        webrtc: None,
                        pending_offer: None,
                        offer: Some(offer),
                        media: None,
                        final_sent: false,
                        trunk: None,
                        auth_tried: false,
                        cancelled: false,
                    },
                );
            }
            Err(e) => {
                tracing::warn!(error = %e, "call not started");
                self.reply(
                    tx,
                    &req,
                    480,
                    Some("Temporarily Unavailable (nobody to call)"),
                );
            }
        }
    }

    pub(super) async fn bind_rtp(&self) -> std::io::Result<Arc<UdpSocket>> {
        Ok(Arc::new(UdpSocket::bind((self.cfg.media_ip, 0)).await?))
    }

    pub(super) fn on_dialog_request(&mut self, tx: TxId, req: Request) {
        let leg = DialogId::of_incoming(&req).and_then(|d| self.by_dialog.get(&d).copied());
        let Some(leg) = leg else {
            return self.reply(tx, &req, 481, None);
        };
        let check = self
            .legs
            .get_mut(&leg)
            .and_then(|l| l.dialog.as_mut())
            .map(|d| d.on_request(&req));
        if let Some(Err(e)) = check {
            return self.reply(tx, &req, e.status(), None);
        }
        match req.method {
            Method::Bye => {
                self.reply(tx, &req, 200, None);
                self.engine.handle_hangup(wall_ms(), leg, true);
                self.drop_leg(leg);
            }
            Method::Invite => self.on_reinvite(tx, leg, req),
            Method::Ack => {}
            _ => self.reply(tx, &req, 200, None),
        }
    }

    /// A re-INVITE: hold, resume or a new address; answered with the same media.
    pub(super) fn on_reinvite(&mut self, tx: TxId, leg: LegId, req: Request) {
        let offer = std::str::from_utf8(&req.body)
            .ok()
            .and_then(|s| Session::parse(s).ok());
        let Some(offer) = offer else {
            return self.reply(tx, &req, 488, Some("Not Acceptable Here (SDP required)"));
        };
        let Some(l) = self.legs.get(&leg) else {
            return self.reply(tx, &req, 481, None);
        };
        let hold = offer.is_hold();
        // A browser re-offers in its WebRTC session, which the call's relay
        // task owns once bridged: it answers, and the answer comes back to
        // the run loop (on_reoffered).
        if crate::webrtc::is_webrtc(std::str::from_utf8(&req.body).unwrap_or_default()) {
            let relay = self
                .relays
                .get(&l.call)
                .and_then(|(r, a, b)| Some((r, side_of(leg, *a, *b)?)));
            let Some((relay, side)) = relay else {
                return self.reply(
                    tx,
                    &req,
                    491,
                    Some("Request Pending (call not bridged yet)"),
                );
            };
            let answer = relay.reoffer(side, String::from_utf8_lossy(&req.body).into_owned());
            let back = self.reoffered.clone();
            tokio::spawn(async move {
                let answer = answer.await;
                let _ = back.send(Reoffered {
                    tx,
                    req,
                    leg,
                    hold,
                    answer,
                });
            });
            return;
        }
        let port = l.rtp.local_addr().map(|a| a.port()).unwrap_or(0);
        let Some(answer) = offer.answer(self.seq, self.cfg.media_ip, port, &CODECS) else {
            return self.reply(tx, &req, 488, None);
        };
        let mut resp = Response::from_request(&req, 200, None);
        if let Some(d) = self.legs.get_mut(&leg).and_then(|l| l.dialog.as_mut()) {
            d.prepare_response(&req, &mut resp);
        }
        resp.set_body("application/sdp", answer.to_string().into_bytes());
        self.respond(tx, resp);
        self.engine.handle_hold(wall_ms(), leg, hold);
    }

    /// Sends the answer to a browser's re-INVITE that its relay worked out.
    pub(super) fn on_reoffered(&mut self, r: Reoffered) {
        let Reoffered {
            tx,
            req,
            leg,
            hold,
            answer,
        } = r;
        let answer = match answer {
            Ok(sdp) => sdp,
            Err(e) => {
                tracing::info!(leg = ?leg, error = %e, "browser re-offer refused");
                return self.reply(tx, &req, 488, None);
            }
        };
        let mut resp = Response::from_request(&req, 200, None);
        if let Some(d) = self.legs.get_mut(&leg).and_then(|l| l.dialog.as_mut()) {
            d.prepare_response(&req, &mut resp);
        }
        resp.set_body("application/sdp", answer.into_bytes());
        self.respond(tx, resp);
        self.engine.handle_hold(wall_ms(), leg, hold);
    }
}

/// Where checking a request's credentials got to.
pub(super) enum Auth {
    /// The agent is who it says, in this company.
    Ok(Arc<TenantEntry>, UserId),
    /// A challenge or refusal went out.
    Answered,
    /// The company must be read first: park the request until it is.
    /// `recheck`: the cached entry refused the credentials and is read again
    /// in case the password just changed.
    Wait { tenant: TenantId, recheck: bool },
}

/// Which side of the bridge `a`–`b` the leg is on.
fn side_of(leg: LegId, a: LegId, b: LegId) -> Option<Side> {
    if leg == a {
        Some(Side::A)
    } else if leg == b {
        Some(Side::B)
    } else {
        None
    }
}
