//! Carrying out the engine's commands: SIP for each leg (ring, answer,
//! reject, originate, cancel, hang up) and media (bridge, echo, hold music,
//! the finished call to the spool).

use super::*;

/// Tells an agent's phone (calling, or being rung) the id of the call's record,
/// so the web app can save a result for that call (it is the record's id once
/// the call ends).
pub(crate) const CALL_ID_HEADER: &str = "X-Callisto-Call";
/// The header naming the company line an incoming call came in on.
pub(crate) const LINE_HEADER: &str = "X-Callisto-Line";
/// The header naming the number the customer dialled on that line.
pub(crate) const CALLED_HEADER: &str = "X-Callisto-Called";

impl Ua {
    pub(super) async fn on_command(&mut self, cmd: Command) {
        match cmd {
            Command::Ring { leg } => self.provisional(leg, 180),
            Command::Answer { leg } => self.answer(leg),
            Command::Reject { leg, code, reason } => {
                self.final_response(leg, code, &reason);
                self.drop_leg(leg);
            }
            Command::Originate {
                leg,
                call,
                tenant,
                target,
            } => self.originate(leg, call, tenant, target).await,
            Command::Cancel { leg } => {
                if let Some(l) = self.legs.get_mut(&leg) {
                    l.cancelled = true;
                    let tx = l.tx;
                    let _ = self.endpoint.cancel(Instant::now(), tx);
                }
            }
            Command::Hangup { leg } => {
                self.hangup_leg(leg);
                self.drop_leg(leg);
            }
            Command::Bridge { call, a, b } => self.bridge(call, a, b),
            Command::Echo { call, leg } => self.echo(call, leg),
            Command::EchoEnded { call } => {
                let relay = self.relays.remove(&call).map(|(r, _, _)| r);
                self.drop_call_legs(&call);
                if let Some(r) = relay {
                    // Nothing is recorded or spooled: the media just stops.
                    tokio::spawn(async move {
                        let _ = r.stop().await;
                    });
                }
            }
            Command::HoldMusic { leg, on } => {
                for (relay, a, b) in self.relays.values() {
                    if *a == leg {
                        relay.music(Side::A, on);
                    } else if *b == leg {
                        relay.music(Side::B, on);
                    }
                }
            }
            Command::Ended(summary) => {
                let relay = self.relays.remove(&summary.call).map(|(r, _, _)| r);
                self.drop_call_legs(&summary.call);
                let committer = self.committer.clone();
                let wake = self.spool_wake.clone();
                tokio::spawn(async move {
                    let duration = match relay {
                        Some(r) => r.stop().await.unwrap_or_else(|e| {
                            tracing::warn!(error = %e, "recording failed");
                            None
                        }),
                        None => None,
                    };
                    let record = summary.into_record(duration.map(|ms| RecordingRef {
                        key: String::new(),
                        format: "wav".into(),
                        bytes: 0,
                        duration_ms: ms,
                    }));
                    // fsync blocks: the spool's own thread does it, for the
                    // calls that end together at once, so no call or relay on
                    // the node waits for the disk.
                    let id = record.id.clone();
                    let recorded = duration.is_some();
                    match committer.commit(record, recorded).await {
                        Ok(()) => wake.notify_one(),
                        Err(e) => {
                            tracing::error!(call = %id, error = %e, "call record not spooled")
                        }
                    }
                });
            }
        }
    }

    /// Forgets the legs of an ended call, but those being cancelled (their
    /// CANCEL's answer is still to come).
    fn drop_call_legs(&mut self, call: &CallId) {
        let stale: Vec<LegId> = self
            .legs
            .iter()
            .filter(|(_, l)| l.call == *call && !l.cancelled)
            .map(|(id, _)| *id)
            .collect();
        for leg in stale {
            self.drop_leg(leg);
        }
    }

    pub(super) fn ensure_uas_dialog(&mut self, leg: LegId) {
        let tag = self.endpoint.ids().tag();
        let Some(peer) = self.legs.get(&leg).map(|l| l.peer) else {
            return;
        };
        let contact = self.contact_for(peer);
        let Some(l) = self.legs.get_mut(&leg) else {
            return;
        };
        if l.dialog.is_none()
            && let Ok(d) = Dialog::uas(&l.invite, &tag, contact)
        {
            self.by_dialog.insert(d.id.clone(), leg);
            l.dialog = Some(d);
        }
    }

    pub(super) fn provisional(&mut self, leg: LegId, status: u16) {
        self.ensure_uas_dialog(leg);
        let Some(l) = self.legs.get_mut(&leg) else {
            return;
        };
        if l.final_sent || !l.incoming {
            return;
        }
        let mut resp = Response::from_request(&l.invite, status, None);
        if let Some(d) = l.dialog.as_mut() {
            d.prepare_response(&l.invite, &mut resp);
        }
        resp.headers.push(CALL_ID_HEADER, l.call.to_string());
        let tx = l.tx;
        self.respond(tx, resp);
    }

    pub(super) fn answer(&mut self, leg: LegId) {
        self.ensure_uas_dialog(leg);
        let session = self.next_random();
        let ip = self.cfg.media_ip;
        let Some(l) = self.legs.get_mut(&leg) else {
            return;
        };
        let port = l.rtp.local_addr().map(|a| a.port()).unwrap_or(0);
        let answer = if let Some(offer) = &l.webrtc_offer {
            // A browser: ICE-lite and DTLS-SRTP on the leg's socket.
            let local = SocketAddr::new(ip, port);
            match WebRtcLeg::answer(Instant::now(), local, offer) {
                Ok((w, sdp)) => {
                    l.media = w.media();
                    l.webrtc = Some(w);
                    sdp
                }
                Err(e) => {
                    // The browser cannot be answered: refuse it and end the call,
                    // rather than leave it ringing.
                    tracing::warn!(error = %e, "browser offer not answered");
                    let reason = format!("Not Acceptable Here ({e})");
                    self.final_response(leg, 488, &reason);
                    self.engine.handle_hangup(wall_ms(), leg, false);
                    self.drop_leg(leg);
                    return;
                }
            }
        } else {
            let Some(answer) = l
                .offer
                .as_ref()
                .and_then(|o| o.answer(session, ip, port, &CODECS))
            else {
                return;
            };
            l.media = leg_media_of_answer(l.offer.as_ref(), &answer);
            answer.to_string()
        };
        let mut resp = Response::from_request(&l.invite, 200, None);
        if let Some(d) = l.dialog.as_mut() {
            d.prepare_response(&l.invite, &mut resp);
        }
        resp.headers.push(CALL_ID_HEADER, l.call.to_string());
        resp.set_body("application/sdp", answer.into_bytes());
        l.final_sent = true;
        let tx = l.tx;
        self.respond(tx, resp);
    }

    pub(super) fn final_response(&mut self, leg: LegId, code: u16, reason: &str) {
        let tag = self.endpoint.ids().tag();
        let Some(l) = self.legs.get_mut(&leg) else {
            return;
        };
        if !l.incoming || l.final_sent {
            return;
        }
        l.final_sent = true;
        let tag = l
            .dialog
            .as_ref()
            .map(|d| d.id.local_tag.clone())
            .unwrap_or(tag);
        let resp = Response::from_request(&l.invite, code, Some(&tag)).with_reason(reason);
        let tx = l.tx;
        self.respond(tx, resp);
    }

    pub(super) fn hangup_leg(&mut self, leg: LegId) {
        let Some(peer) = self.legs.get(&leg).map(|l| l.peer) else {
            return;
        };
        let via = self.via(peer);
        let Some(l) = self.legs.get_mut(&leg) else {
            return;
        };
        let Some(d) = l.dialog.as_mut() else {
            return;
        };
        if l.incoming && !l.final_sent {
            return;
        }
        let bye = d.request(Method::Bye, &via);
        let peer = l.peer;
        let _ = self.endpoint.send_request(Instant::now(), peer, bye);
    }

    pub(super) fn drop_leg(&mut self, leg: LegId) {
        if let Some(l) = self.legs.remove(&leg) {
            self.by_tx.remove(&l.tx);
            if let Some(d) = l.dialog {
                self.by_dialog.remove(&d.id);
            }
        }
    }

    pub(super) async fn originate(
        &mut self,
        leg: LegId,
        call: CallId,
        tenant: TenantId,
        target: Target,
    ) {
        let now = wall_ms();
        let fail =
            |ua: &mut Ua, code: u16, reason: &str| ua.engine.handle_failed(now, leg, code, reason);
        let rtp = match self.bind_rtp().await {
            Ok(s) => s,
            Err(_) => return fail(self, 503, "Service Unavailable (no media port)"),
        };
        let port = rtp.local_addr().map(|a| a.port()).unwrap_or(0);
        let session = self.next_random();
        let offer = Session::offer(
            session,
            self.cfg.media_ip,
            port,
            &CODECS,
            callisto_sdp::Direction::SendRecv,
        )
        .to_string();
        let from_tag = self.endpoint.ids().tag();
        let call_id = self
            .endpoint
            .ids()
            .call_id(Some(&self.local.ip().to_string()));
        let caller = self.engine.caller(&call).unwrap_or_default().to_string();
        let (uri, from, to, peer, trunk) = match &target.dest {
            Dest::Trunk { number, caller_id } => {
                let Some(t) = self.trunks.get(&tenant) else {
                    return fail(self, 503, "Service Unavailable (trunk not reachable)");
                };
                let host = Host::parse(&t.trunk.host)
                    .unwrap_or_else(|_| Host::Domain(t.trunk.host.clone()));
                let uri = SipUri::new(host).with_user(number).with_port(t.trunk.port);
                let domain = Host::parse(t.trunk.sip_domain())
                    .unwrap_or_else(|_| Host::Domain(t.trunk.sip_domain().into()));
                let mut from = NameAddr::new(Uri::Sip(
                    SipUri::new(domain.clone()).with_user(&t.trunk.login),
                ));
                from.display = Some(caller_id.clone());
                let to = NameAddr::new(Uri::Sip(SipUri::new(domain).with_user(number)));
                (Uri::Sip(uri), from, to, t.peer, Some(t.trunk.clone()))
            }
            Dest::Device { contact } => {
                let Some(peer) = self.device_peers.get(contact).copied() else {
                    return fail(self, 480, "Temporarily Unavailable (device gone)");
                };
                let Ok(uri) = Uri::parse(contact) else {
                    return fail(self, 400, "Bad contact");
                };
                let user = target
                    .user
                    .as_ref()
                    .map(|u| sip_username(&tenant, u))
                    .unwrap_or_default();
                let mut from = NameAddr::new(Uri::Sip(
                    SipUri::new(Host::Domain(self.cfg.realm.clone())).with_user(&caller),
                ));
                from.display = Some(caller.clone());
                let to = NameAddr::new(self.aor(&user));
                (uri, from, to, peer, None)
            }
        };
        // An agent on a WebSocket is a browser: it gets a WebRTC offer.
        let (offer, browser, pending) = if matches!(peer.transport, Transport::Ws | Transport::Wss)
        {
            let local = SocketAddr::new(self.cfg.media_ip, port);
            match WebRtcLeg::offer(Instant::now(), local) {
                Ok((w, sdp, pending)) => (sdp, Some(w), Some(pending)),
                Err(e) => return fail(self, 500, &format!("Server Internal Error ({e})")),
            }
        } else {
            (offer, None, None)
        };
        let via = self.via(peer);
        let contact = self.contact_for(peer);
        let mut invite = Request::builder(Method::Invite, uri)
            .via(&via)
            .from(&from.with_tag(&from_tag))
            .to(&to)
            .call_id(&call_id)
            .cseq(1)
            .contact(&contact)
            .header(HeaderName::Allow, ALLOW)
            .body("application/sdp", offer.into_bytes())
            .build();
        if let Some(t) = &trunk {
            invite.headers.push(
                HeaderName::Other("P-Asserted-Identity".into()),
                format!("<sip:{}@{}>", t.number, t.sip_domain()),
            );
        } else {
            // An agent's phone learns which call record this is (to save its
            // result), and the company line it came in on: its name and number
            // (for the pop-up and its screen pop).
            invite.headers.push(CALL_ID_HEADER, call.to_string());
            if let Some(line) = self.engine.line(&call) {
                invite.headers.push(LINE_HEADER, line.to_string());
                if let Some(called) = self.engine.called(&call) {
                    invite.headers.push(CALLED_HEADER, called.to_string());
                }
            }
        }
        match self
            .endpoint
            .send_request(Instant::now(), peer, invite.clone())
        {
            Ok(tx) => {
                self.by_tx.insert(tx, leg);
                self.legs.insert(
                    leg,
                    Leg {
                        call,
                        peer,
                        invite,
                        tx,
                        incoming: false,
                        dialog: None,
                        rtp,
                        offer: None,
                        webrtc_offer: None,
                        webrtc: browser,
                        pending_offer: pending,
                        media: None,
                        final_sent: false,
                        trunk,
                        auth_tried: false,
                        cancelled: false,
                    },
                );
            }
            Err(e) => fail(self, 503, &format!("Service Unavailable ({e})")),
        }
    }

    pub(super) fn bridge(&mut self, call: CallId, a: LegId, b: LegId) {
        // The relay owns browser legs' WebRTC sessions from now on.
        let wa = self.legs.get_mut(&a).and_then(|l| l.webrtc.take());
        let wb = self.legs.get_mut(&b).and_then(|l| l.webrtc.take());
        let (Some(la), Some(lb)) = (self.legs.get(&a), self.legs.get(&b)) else {
            return;
        };
        let (Some(ma), Some(mb)) = (la.media, lb.media) else {
            tracing::warn!(call = %call, "bridge without negotiated media");
            return;
        };
        let seeds = [self.seq as u32, (self.seq >> 32) as u32];
        let setup = RelaySetup {
            sockets: [la.rtp.clone(), lb.rtp.clone()],
            webrtc: [wa, wb],
            media: [ma, mb],
            recording: Some(self.spool.recording_file(call.as_str())),
            hold_music: self.hold_music.clone(),
            seeds,
        };
        self.seq = self.seq.wrapping_mul(6364136223846793005).wrapping_add(1);
        match relay::spawn(setup) {
            Ok(h) => {
                self.relays.insert(call, (h, a, b));
            }
            Err(e) => tracing::error!(call = %call, error = %e, "media not bridged"),
        }
    }

    /// Starts echoing the answered leg's media back to it (`*43`).
    pub(super) fn echo(&mut self, call: CallId, leg: LegId) {
        let Some(l) = self.legs.get_mut(&leg) else {
            return;
        };
        let webrtc = l.webrtc.take();
        let Some(media) = l.media else {
            // Answering failed (no codec in common): the leg is refused already.
            tracing::warn!(call = %call, "echo test without negotiated media");
            return;
        };
        let setup = EchoSetup {
            call: call.clone(),
            socket: l.rtp.clone(),
            webrtc,
            media,
            seed: self.seq as u32,
        };
        self.seq = self.seq.wrapping_mul(6364136223846793005).wrapping_add(1);
        tracing::info!(call = %call, browser = setup.webrtc.is_some(), codec = ?media.codec, "echo test media started");
        let h = relay::spawn_echo(setup);
        self.relays.insert(call, (h, leg, leg));
    }
}
