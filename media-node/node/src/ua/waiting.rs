//! Requests waiting for their company: a REGISTER, INVITE or control-API
//! call for a company the directory does not hold fresh is parked here while
//! a task of its own reads the company from the store, so the SIP task goes
//! on with every other call's signalling. The read comes back through the
//! run loop ([`Ua::on_tenant_read`]) and the parked requests resume with
//! what it found. Requests for one company share its read and resume in the
//! order they came; how many may wait is bounded per company and in all.
//!
//! With the guard (`guard.rs`): only credentials carrying a nonce issued with
//! this realm's secret get here (`DigestServer::refusal_before_lookup`), so a
//! flood must first take a challenge at its real address. Requests parked for
//! a company that turns out not to exist are refused 403 when the read comes
//! back, and those count as failed authentications, so the guard bans the
//! address after its limit. A 503 for a full waiting room does not count:
//! that is the node's limit, not the sender's fault, and a phone caught in
//! someone else's flood must not be banned for it. Reads in flight are
//! bounded by the waiting limit (each has a request waiting on it).

use super::*;
use std::collections::hash_map::Entry;

/// How long a company's read may take before the requests waiting on it are
/// answered as if the store had failed.
const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// A request parked until its company is read.
#[derive(Debug)]
pub(crate) enum Parked {
    /// A REGISTER or an INVITE outside a dialog; `recheck`: its credentials
    /// failed against the cached entry, which is read again before refusing.
    Sip {
        tx: TxId,
        from: Peer,
        req: Request,
        recheck: bool,
    },
    /// A call placed through the control API.
    Originate {
        o: Originate,
        reply: oneshot::Sender<Result<CallId, OriginateError>>,
    },
}

/// A company read on demand, back in the SIP task.
pub(crate) struct TenantRead {
    tenant: TenantId,
    result: Result<Option<TenantEntry>, String>,
}

/// What a resumed request's read found: its company's entry, `None` when
/// the store has no such company.
#[derive(Debug, Clone)]
pub(super) struct Found {
    pub(super) tenant: TenantId,
    pub(super) entry: Option<Arc<TenantEntry>>,
}

/// Why parked requests are answered without their company.
#[derive(Debug, Clone, Copy)]
enum Refusal<'a> {
    /// The read failed or timed out (why).
    Unavailable(&'a str),
    /// Too many requests wait already.
    Full,
}

#[derive(Debug, Default)]
pub(super) struct Waiting {
    /// Companies being read, with the requests waiting on each read.
    by_tenant: HashMap<TenantId, Vec<Parked>>,
    total: usize,
    /// Requests refused because the limits were reached, since last logged.
    refused_full: u64,
}

impl Waiting {
    /// Takes the parked request of server transaction `tx` out, if it waits.
    fn take(&mut self, tx: TxId) -> Option<Request> {
        for list in self.by_tenant.values_mut() {
            let at = list
                .iter()
                .position(|p| matches!(p, Parked::Sip { tx: t, .. } if *t == tx));
            if let Some(at) = at
                && let Parked::Sip { req, .. } = list.remove(at)
            {
                self.total -= 1;
                return Some(req);
            }
        }
        None
    }
}

impl Ua {
    /// The company's entry for a request: what its read found when the
    /// request resumes from waiting, else the cached entry while fresh.
    /// `None`: the request must wait, because the cache is old or lacks the
    /// company, or because a read of it is under way (requests of one
    /// company are handled in the order they came).
    pub(super) fn entry_for(
        &self,
        t: &TenantId,
        found: Option<&Found>,
    ) -> Option<Option<Arc<TenantEntry>>> {
        if let Some(f) = found.filter(|f| &f.tenant == t) {
            return Some(f.entry.clone());
        }
        if self.waiting.by_tenant.contains_key(t) {
            return None;
        }
        self.directory.fresh(t, wall_ms()).map(Some)
    }

    /// [`wait_for`](Self::wait_for) for a REGISTER or an INVITE outside a dialog.
    pub(super) fn wait_sip(
        &mut self,
        t: TenantId,
        tx: TxId,
        from: Peer,
        req: Request,
        recheck: bool,
    ) {
        self.wait_for(
            t,
            Parked::Sip {
                tx,
                from,
                req,
                recheck,
            },
        );
    }

    /// Parks `p` until company `t` has been read, starting the read unless
    /// one is under way; beyond the limits it is answered 503 at once.
    pub(super) fn wait_for(&mut self, t: TenantId, p: Parked) {
        let limits = self.cfg.directory_waiting;
        let queued = self.waiting.by_tenant.get(&t).map_or(0, Vec::len);
        if queued >= limits.per_company || self.waiting.total >= limits.total {
            self.waiting.refused_full += 1;
            return self.refuse(p, Refusal::Full);
        }
        if let Parked::Sip { tx, req, .. } = &p
            && req.method == Method::Invite
        {
            // RFC 3261 §17.2.1: the read may take longer than 200 ms, so the
            // caller hears at once that its INVITE is in hand and stops
            // retransmitting it.
            let trying = Response::from_request(req, 100, None);
            self.respond(*tx, trying);
        }
        self.waiting.total += 1;
        match self.waiting.by_tenant.entry(t) {
            Entry::Occupied(mut e) => e.get_mut().push(p),
            Entry::Vacant(e) => {
                let t = e.key().clone();
                e.insert(vec![p]);
                self.start_tenant_read(t);
            }
        }
    }

    fn start_tenant_read(&self, tenant: TenantId) {
        let repos = self.repos.clone();
        let back = self.tenant_read.clone();
        tokio::spawn(async move {
            let at = wall_ms();
            let read = crate::directory::read_tenant(&repos, &tenant, at);
            let result = match tokio::time::timeout(READ_TIMEOUT, read).await {
                Ok(r) => r.map_err(|e| e.to_string()),
                Err(_) => Err(format!("no answer within {} s", READ_TIMEOUT.as_secs())),
            };
            let _ = back.send(TenantRead { tenant, result });
        });
    }

    /// A company's read is back: the directory takes it and the requests
    /// that waited go on, or are answered 503 if the read failed.
    pub(super) async fn on_tenant_read(&mut self, r: TenantRead) {
        let parked = self.waiting.by_tenant.remove(&r.tenant).unwrap_or_default();
        self.waiting.total -= parked.len();
        let entry = match r.result {
            Ok(read) => self.directory.apply_read(&r.tenant, read),
            Err(error) => {
                tracing::error!(tenant = %r.tenant, %error, waiting = parked.len(), "directory unavailable");
                // A recheck had an entry already: it is refused on that one,
                // as if no second read had been tried.
                let cached = Found {
                    entry: self.directory.cached_entry(&r.tenant),
                    tenant: r.tenant,
                };
                for p in parked {
                    match p {
                        Parked::Sip {
                            tx,
                            from,
                            req,
                            recheck: true,
                        } if cached.entry.is_some() => {
                            self.on_request(tx, from, req, Some(&cached)).await
                        }
                        p => self.refuse(p, Refusal::Unavailable(&error)),
                    }
                }
                return;
            }
        };
        let found = Found {
            tenant: r.tenant,
            entry,
        };
        for p in parked {
            match p {
                Parked::Sip { tx, from, req, .. } => {
                    self.on_request(tx, from, req, Some(&found)).await
                }
                Parked::Originate { o, reply } => self.place_call(o, reply, Some(&found)),
            }
        }
    }

    /// A CANCEL for an INVITE still waiting for its company: it ends there.
    pub(super) fn cancel_waiting(&mut self, tx: TxId) -> bool {
        match self.waiting.take(tx) {
            Some(req) => {
                self.reply(tx, &req, 487, Some("Request Terminated"));
                true
            }
            None => false,
        }
    }

    fn refuse(&mut self, p: Parked, why: Refusal) {
        match (p, why) {
            (Parked::Sip { tx, req, .. }, Refusal::Unavailable(_)) => {
                self.reply(tx, &req, 503, Some("Service Unavailable (directory)"))
            }
            (Parked::Sip { tx, req, .. }, Refusal::Full) => self.reply(
                tx,
                &req,
                503,
                Some("Service Unavailable (too many requests waiting for the directory)"),
            ),
            (Parked::Originate { reply, .. }, Refusal::Unavailable(error)) => {
                let _ = reply.send(Err(OriginateError::Engine(error.to_string())));
            }
            (Parked::Originate { reply, .. }, Refusal::Full) => {
                let _ = reply.send(Err(OriginateError::Busy));
            }
        }
    }

    /// Logs the requests the limits turned away since the last call.
    pub(super) fn log_waiting_refusals(&mut self) {
        let refused = std::mem::take(&mut self.waiting.refused_full);
        if refused > 0 {
            tracing::warn!(
                refused,
                waiting = self.waiting.total,
                companies = self.waiting.by_tenant.len(),
                "requests refused: too many waiting for the directory"
            );
        }
    }
}
