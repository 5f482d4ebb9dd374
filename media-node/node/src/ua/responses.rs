//! Responses to the node's own INVITEs: ringing, answer (with the dialog,
//! the ACK and the leg's media), failure, and the trunk's digest challenge.

use super::*;

impl Ua {
    pub(super) async fn on_response(&mut self, tx: TxId, resp: Response) {
        // Any final answer to OPTIONS means the trunk is there.
        if resp.status >= 200
            && let Some(t) = self.qualify_tx.remove(&tx)
        {
            return self.trunk_checked(&t, Some(&resp)).await;
        }
        if let Some(t) = self.reg_tx.get(&tx).cloned() {
            if resp.status >= 200 {
                self.reg_tx.remove(&tx);
            }
            if let Some(r) = self
                .trunks
                .get_mut(&t)
                .and_then(|t| t.registration.as_mut())
            {
                r.handle_response(Instant::now(), &resp);
            }
            return;
        }
        let Some(&leg) = self.by_tx.get(&tx) else {
            return;
        };
        let now = wall_ms();
        match resp.status {
            100 => {}
            101..=199 => self.engine.handle_ringing(now, leg),
            200..=299 => self.on_answered(tx, leg, &resp),
            401 | 407 if self.retry_with_credentials(leg, &resp) => {}
            code => {
                self.by_tx.remove(&tx);
                self.engine.handle_failed(now, leg, code, &resp.reason);
                self.drop_leg(leg);
            }
        }
    }

    pub(super) fn on_answered(&mut self, tx: TxId, leg: LegId, resp: &Response) {
        let Some(peer) = self.legs.get(&leg).map(|l| l.peer) else {
            return;
        };
        let contact = self.contact_for(peer);
        let via = self.via(peer);
        let Some(l) = self.legs.get_mut(&leg) else {
            return;
        };
        if l.dialog.is_some() {
            return;
        }
        let dialog = match Dialog::uac(&l.invite, resp, contact) {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(error = %e, "2xx that forms no dialog");
                return;
            }
        };
        let seq = l.invite.headers.cseq().map(|c| c.seq).unwrap_or(1);
        let ack = dialog.ack(seq, &via);
        let peer = l.peer;
        self.by_dialog.insert(dialog.id.clone(), leg);
        let text = std::str::from_utf8(&resp.body).unwrap_or_default();
        let answer = match (l.webrtc.as_mut(), l.pending_offer.take()) {
            (Some(w), Some(pending)) => match w.accept_answer(pending, text) {
                Ok(()) => w.media(),
                Err(e) => {
                    tracing::warn!(error = %e, "browser answer not accepted");
                    None
                }
            },
            _ => Session::parse(text).ok().as_ref().and_then(leg_media),
        };
        l.media = answer;
        l.dialog = Some(dialog);
        let cancelled = l.cancelled;
        self.endpoint.send_ack(Instant::now(), tx, peer, ack);
        if cancelled || answer.is_none() {
            // Answered after we gave up, or with no usable media: end it.
            self.hangup_leg(leg);
            if !cancelled {
                self.engine
                    .handle_failed(wall_ms(), leg, 488, "Not Acceptable Here");
            }
            return;
        }
        self.engine.handle_answered(wall_ms(), leg);
    }

    /// Answers a trunk's challenge once; true if the INVITE was sent again.
    pub(super) fn retry_with_credentials(&mut self, leg: LegId, resp: &Response) -> bool {
        let proxy = resp.status == 407;
        let Some(challenge) = resp
            .headers
            .challenges(proxy)
            .ok()
            .and_then(|c| c.into_iter().next())
        else {
            return false;
        };
        let cnonce = self.endpoint.ids().hex();
        let Some(peer) = self.legs.get(&leg).map(|l| l.peer) else {
            return false;
        };
        let via = self.via(peer);
        let Some(l) = self.legs.get_mut(&leg) else {
            return false;
        };
        let Some(trunk) = l.trunk.clone() else {
            return false;
        };
        if l.auth_tried || l.cancelled {
            return false;
        }
        let uri = l.invite.uri.to_string();
        let Ok(creds) = digest::answer(
            &challenge,
            &Method::Invite,
            &uri,
            &trunk.login,
            &trunk.password,
            &cnonce,
            1,
        ) else {
            return false;
        };
        let mut invite = l.invite.clone();
        invite.headers.remove(&HeaderName::Via);
        invite.headers.push_front(HeaderName::Via, via.to_string());
        let seq = invite.headers.cseq().map(|c| c.seq + 1).unwrap_or(2);
        invite
            .headers
            .set(HeaderName::CSeq, format!("{seq} INVITE"));
        let name = if proxy {
            HeaderName::ProxyAuthorization
        } else {
            HeaderName::Authorization
        };
        invite.headers.set(name, creds.to_string());
        l.auth_tried = true;
        let peer = l.peer;
        match self
            .endpoint
            .send_request(Instant::now(), peer, invite.clone())
        {
            Ok(tx) => {
                if let Some(l) = self.legs.get_mut(&leg) {
                    self.by_tx.remove(&l.tx);
                    l.tx = tx;
                    l.invite = invite;
                }
                self.by_tx.insert(tx, leg);
                true
            }
            Err(_) => false,
        }
    }
}
