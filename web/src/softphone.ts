// The browser softphone: a JsSIP user agent registered to the media node over
// SIP over WebSocket with the agent's own account (the API gives its HA1, so
// the page never holds a password). It calls out, takes customers' calls,
// holds, and sends keypad digits as RFC 4733 events; the pre-flight check's
// echo test calls the node's echo number through it. Loaded on first use (it
// carries JsSIP); its state is in phone.ts.

import { UA, WebSocketInterface } from "jssip";
import type { DTMF_TRANSPORT } from "jssip/lib/Constants";
import type { RTCSession } from "jssip/lib/RTCSession";
import { api } from "./api";
import { call, line } from "./phone";
import { ring } from "./ringtone";

interface SipAccount {
  username: string;
  realm: string;
  configured: boolean;
  ha1: string | null;
  websocket: string | null;
}

/** The headers in which the node names the call's record, and for a customer's
 * call the company line's name and number. */
const RECORD_HEADER = "X-Callisto-Call";
const LINE_HEADER = "X-Callisto-Line";
const CALLED_HEADER = "X-Callisto-Called";

const MEDIA = {
  mediaConstraints: { audio: true, video: false },
  pcConfig: { iceServers: [] },
};

let ua: UA | null = null;
/** The SIP domain calls are addressed in (the node's realm). */
let domain = "";
let session: RTCSession | null = null;
let audio: HTMLAudioElement | null = null;

/** Registers the softphone once per page; later calls do nothing. */
export async function connect(): Promise<void> {
  if (ua) return;
  line.set({ state: "connecting" });
  let account = await api<SipAccount>("GET", "/api/me/sip");
  if (!account.configured) {
    // First use: make the account a password (the browser keeps only its HA1).
    await api("POST", "/api/me/sip-password");
    account = await api<SipAccount>("GET", "/api/me/sip");
  }
  if (!account.websocket || !account.ha1) {
    line.set({ state: "failed", reason: "no media node takes browser calls" });
    return;
  }
  domain = account.realm;
  ua = new UA({
    sockets: [new WebSocketInterface(account.websocket)],
    uri: `sip:${account.username}@${account.realm}`,
    ha1: account.ha1,
    realm: account.realm,
    register: true,
    session_timers: false,
    user_agent: "Callisto web",
  });
  // JsSIP reconnects by itself; the line shows it until registered again.
  ua.on("disconnected", () => line.set({ state: "connecting", lost: line.get().state === "ready" || lost() }));
  ua.on("registered", () => line.set({ state: "ready" }));
  ua.on("registrationFailed", (e: { cause?: string }) =>
    line.set({ state: "failed", reason: e.cause ?? "registration failed" }),
  );
  ua.on("newRTCSession", (e: { originator: string; session: RTCSession; request: Header }) => {
    if (e.originator === "remote") offered(e.session, e.request);
  });
  ua.start();
}

/** Is the line down after having been up? */
const lost = () => {
  const l = line.get();
  return l.state === "connecting" && !!l.lost;
};

type Header = { getHeader(name: string): string | undefined };
type Incoming = { line?: string; called?: string };

function remoteAudio(): HTMLAudioElement {
  if (!audio) {
    audio = document.createElement("audio");
    audio.autoplay = true;
    document.body.appendChild(audio);
  }
  return audio;
}

/** The node answers this number itself and sends our audio straight back
 * (the echo test; Asterisk's `*43`). */
export const ECHO_NUMBER = "*43";

/** Places a call to `number` in the node's domain. */
function place(number: string): RTCSession | null {
  if (!ua) return null;
  const s = ua.call(`sip:${number}@${domain}`, MEDIA);
  // The node is ICE-lite on a known address: one host candidate is enough, so
  // the call goes out on the first one instead of after all of gathering
  // (which can take many seconds on machines with VPNs or idle interfaces).
  let sent = false;
  s.on("icecandidate", (e: { ready: () => void }) => {
    if (!sent) {
      sent = true;
      e.ready();
    }
  });
  return s;
}

/** Calls `number` (E.164) through the company's trunk. */
export function dial(number: string) {
  if (!ua || line.get().state !== "ready" || session) return;
  call.set({ state: "calling", number, muted: false, held: false });
  const s = place(number);
  if (s) follow(s, number, undefined);
}

/** An echo test in progress: the path microphone → network → media node →
 * network → speaker, and the statistics of its RTP. */
export interface EchoCall {
  /** The audio coming back, once it arrives. */
  remote: Promise<MediaStream>;
  /** Resolves when the node answered; rejects with the cause it failed with. */
  answered: Promise<void>;
  /** Resolves with the cause once the call is over. */
  ended: Promise<string>;
  /** The peer connection's statistics (RTCPeerConnection.getStats()). */
  stats(): Promise<RTCStatsReport | null>;
  hangUp(): void;
}

/** Calls the echo number. Not a call with anyone, so the call panel does not
 * show it; meanwhile a customer's call gets "busy" as during any call.
 * `null` when the line is not ready or a call is on. */
export function echoCall(): EchoCall | null {
  if (!ua || line.get().state !== "ready" || session) return null;
  const s = place(ECHO_NUMBER);
  if (!s) return null;
  session = s;
  let pc: RTCPeerConnection | null = s.connection ?? null;
  const remote = new Promise<MediaStream>((resolve) => {
    const attach = (c: RTCPeerConnection) => {
      pc = c;
      c.addEventListener("track", (ev: RTCTrackEvent) => resolve(ev.streams[0] ?? new MediaStream([ev.track])));
    };
    if (s.connection) attach(s.connection);
    s.on("peerconnection", (e: { peerconnection: RTCPeerConnection }) => attach(e.peerconnection));
  });
  const answered = new Promise<void>((resolve, reject) => {
    s.on("confirmed", () => resolve());
    s.on("failed", (e: { cause: string }) => reject(new Error(e.cause)));
  });
  // Nobody waits for `answered` once the call ends early; keep that quiet.
  answered.catch(() => {});
  const ended = new Promise<string>((resolve) => {
    const end = (e: { cause: string }) => {
      if (session === s) session = null;
      resolve(e.cause);
    };
    s.on("ended", end);
    s.on("failed", end);
  });
  return {
    remote,
    answered,
    ended,
    stats: () => (pc ? pc.getStats() : Promise.resolve(null)),
    hangUp: () => {
      if (!s.isEnded()) s.terminate();
    },
  };
}

/** A customer's call rings: offered to the agent unless a call is on. */
function offered(s: RTCSession, request: Header) {
  if (session) {
    s.terminate({ status_code: 486, reason_phrase: "Busy Here" });
    return;
  }
  const header = (name: string) => request.getHeader(name)?.trim() || undefined;
  const number = s.remote_identity?.uri?.user ?? "";
  const incoming = { line: header(LINE_HEADER), called: header(CALLED_HEADER) };
  call.set({ state: "offered", number, record: header(RECORD_HEADER), incoming });
  follow(s, number, incoming);
  ring(true);
}

/** Takes the call that is offered. */
export function answer() {
  const c = call.get();
  if (!session || c.state !== "offered") return;
  ring(false);
  call.set({ ...c, state: "calling", muted: false, held: false });
  session.answer(MEDIA);
}

/** Refuses the call that is offered; the node offers it elsewhere or says busy. */
export function decline() {
  if (session && call.get().state === "offered") {
    session.terminate({ status_code: 486, reason_phrase: "Busy Here" });
  }
}

/** Keeps `call` in step with session `s`. */
function follow(s: RTCSession, number: string, incoming: Incoming | undefined) {
  session = s;
  const attach = (pc: RTCPeerConnection) =>
    pc.addEventListener("track", (ev: RTCTrackEvent) => {
      // A re-offer (hold, resume) may bring the far end's audio on a new track.
      remoteAudio().srcObject = ev.streams[0] ?? new MediaStream([ev.track]);
    });
  if (s.connection) attach(s.connection);
  s.on("peerconnection", (e: { peerconnection: RTCPeerConnection }) => attach(e.peerconnection));
  // The node names the call's record in its answers to our calls.
  let record = (call.get() as { record?: string }).record;
  type Answer = { response?: Header };
  const note = (e: Answer) => {
    record = e.response?.getHeader(RECORD_HEADER)?.trim() || record;
  };
  const update = (state: "ringing" | "talking") => {
    const c = call.get();
    const muted = "muted" in c ? c.muted : false;
    const held = "held" in c ? c.held : false;
    call.set({ state, number, muted, held, record, incoming });
  };
  s.on("progress", (e: Answer) => {
    note(e);
    if (!incoming) update("ringing");
  });
  s.on("accepted", note);
  s.on("confirmed", () => update("talking"));
  const end = (cause: string) => {
    if (session === s) session = null;
    ring(false);
    call.set({ state: "ended", number, cause, record, incoming });
  };
  s.on("ended", (e: { cause: string }) => end(e.cause));
  s.on("failed", (e: { cause: string }) => end(e.cause));
}

export function hangUp() {
  session?.terminate();
}

export function toggleMute() {
  const c = call.get();
  if (!session || c.state !== "talking") return;
  if (c.muted) session.unmute({ audio: true });
  else session.mute({ audio: true });
  call.set({ ...c, muted: !c.muted });
}

/** Puts the call on hold (the customer hears the company's music) or resumes it. */
export function toggleHold() {
  const c = call.get();
  if (!session || c.state !== "talking") return;
  const asked = c.held ? session.unhold() : session.hold();
  if (asked !== false) call.set({ ...c, held: !c.held });
}

/** Sends a keypad digit (0-9, *, #) to the other side as an RFC 4733 event. */
export function sendDigit(digit: string) {
  if (session && call.get().state === "talking" && /^[0-9*#]$/.test(digit)) {
    session.sendDTMF(digit, { transportType: "RFC2833" as DTMF_TRANSPORT, duration: 120 });
  }
}
