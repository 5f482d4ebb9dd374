// The browser softphone: a JsSIP user agent registered to the media node over
// SIP over WebSocket with the agent's own account (the API gives its HA1, so
// the page never holds a password), calling out with the microphone only.
// Loaded on first use (it carries JsSIP); its state is in phone.ts.

import { UA, WebSocketInterface } from "jssip";
import type { RTCSession } from "jssip/lib/RTCSession";
import { api } from "./api";
import { call, line } from "./phone";

interface SipAccount {
  username: string;
  realm: string;
  configured: boolean;
  ha1: string | null;
  websocket: string | null;
}

/** The header in which the node names the call's record. */
const RECORD_HEADER = "X-Callisto-Call";

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
  ua.on("disconnected", () => line.set({ state: "connecting" }));
  ua.on("registered", () => line.set({ state: "ready" }));
  ua.on("registrationFailed", (e: { cause?: string }) =>
    line.set({ state: "failed", reason: e.cause ?? "registration failed" }),
  );
  ua.start();
}

function remoteAudio(): HTMLAudioElement {
  if (!audio) {
    audio = document.createElement("audio");
    audio.autoplay = true;
    document.body.appendChild(audio);
  }
  return audio;
}

/** Calls `number` (E.164) through the company's trunk. */
export function dial(number: string) {
  if (!ua || line.get().state !== "ready" || session) return;
  call.set({ state: "calling", number, muted: false });
  const s = ua.call(`sip:${number}@${domain}`, {
    mediaConstraints: { audio: true, video: false },
    pcConfig: { iceServers: [] },
  });
  session = s;
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
  s.connection?.addEventListener("track", (ev: RTCTrackEvent) => {
    remoteAudio().srcObject = ev.streams[0] ?? new MediaStream([ev.track]);
  });
  // The node names the call's record in its answers to us.
  let record: string | undefined;
  type Answer = { response?: { getHeader(name: string): string | undefined } };
  const note = (e: Answer) => {
    record = e.response?.getHeader(RECORD_HEADER)?.trim() || record;
  };
  s.on("progress", (e: Answer) => {
    note(e);
    call.set({ state: "ringing", number, muted: false, record });
  });
  s.on("accepted", note);
  s.on("confirmed", () => call.set({ state: "talking", number, muted: false, record }));
  const end = (cause: string) => {
    session = null;
    call.set({ state: "ended", number, cause, record });
  };
  s.on("ended", (e: { cause: string }) => end(e.cause));
  s.on("failed", (e: { cause: string }) => end(e.cause));
}

export function hangUp() {
  session?.terminate();
}

export function toggleMute() {
  const c = call.get();
  if (!session || c.state === "idle" || c.state === "ended") return;
  if (c.muted) session.unmute({ audio: true });
  else session.mute({ audio: true });
  call.set({ ...c, muted: !c.muted });
}
