// The test softphone: a JsSIP user agent on window.softphone, for the browser
// call harness (call.mjs). Bundled with JsSIP by the harness (esbuild) and
// served from 127.0.0.1. Every function returns plain JSON-able values.
import JsSIP from 'jssip';

const t0 = performance.now();
const events = [];
let ua = null;
let session = null;
let remoteStream = null;
let localStream = null;
let audioCtx = null;
const waiters = [];

function log(line) {
  const el = document.getElementById('log');
  if (el) el.textContent += line + '\n';
}

function record(type, extra = {}) {
  const e = { t: Math.round(performance.now() - t0), type, ...extra };
  events.push(e);
  log(JSON.stringify(e));
  for (const w of waiters.slice()) {
    if (w.types.includes(type)) {
      waiters.splice(waiters.indexOf(w), 1);
      clearTimeout(w.timer);
      w.resolve(e);
    }
  }
}

// The SIP status and reason of a response JsSIP hands to an event, if any.
function sip(message) {
  if (message && typeof message.status_code === 'number') {
    return { status: message.status_code, reason: message.reason_phrase };
  }
  return {};
}

/** Resolves with the first event (past or future) of one of `types`, or
 *  with `{type: 'timeout'}` after `ms`. */
function waitFor(types, ms) {
  const seen = events.find((e) => types.includes(e.type));
  if (seen) return Promise.resolve(seen);
  return new Promise((resolve) => {
    const w = { types, resolve };
    w.timer = setTimeout(() => {
      waiters.splice(waiters.indexOf(w), 1);
      resolve({ type: 'timeout', waitedFor: types, ms });
    }, ms);
    waiters.push(w);
  });
}

/** Creates the user agent and registers. `opts`: wsUrl, user (e.g.
 *  "acme.bob"), domain ("callisto"), password or ha1 + realm. */
function start(opts) {
  if (opts.debug) JsSIP.debug.enable('JsSIP:*');
  else JsSIP.debug.disable();
  const socket = new JsSIP.WebSocketInterface(opts.wsUrl);
  const config = {
    sockets: [socket],
    uri: `sip:${opts.user}@${opts.domain}`,
    register: false,
    register_expires: 300,
    session_timers: false,
    connection_recovery_min_interval: 2,
    connection_recovery_max_interval: 4,
    user_agent: 'Callisto browser harness (JsSIP)',
  };
  if (opts.ha1) {
    config.ha1 = opts.ha1;
    config.realm = opts.realm;
  } else {
    config.password = opts.password;
    if (opts.realm) config.realm = opts.realm;
  }
  ua = new JsSIP.UA(config);
  // Register once the WebSocket is up (a REGISTER sent before fails at once).
  let asked = false;
  ua.on('connected', () => {
    record('connected');
    if (!asked) {
      asked = true;
      ua.register();
    }
  });
  ua.on('disconnected', (e) => record('disconnected', { error: !!(e && e.error) }));
  ua.on('registered', (e) => record('registered', sip(e.response)));
  ua.on('unregistered', (e) => record('unregistered', sip(e && e.response)));
  ua.on('registrationFailed', (e) =>
    record('registrationFailed', { cause: e.cause, ...sip(e.response) }),
  );
  ua.start();
  return true;
}

function watchRemote(pc) {
  // A re-offer (hold, resume) may bring the far end's audio on a new track:
  // the latest one is what the agent hears.
  const take = (stream) => {
    if (remoteStream === stream) return;
    remoteStream = stream;
    const el = document.getElementById('remote');
    el.srcObject = stream;
    el.play().catch(() => {});
    record('track', { tracks: stream.getAudioTracks().length });
  };
  pc.addEventListener('track', (ev) => take(ev.streams[0] || new MediaStream([ev.track])));
  pc.addEventListener('iceconnectionstatechange', () =>
    record('ice', { state: pc.iceConnectionState }),
  );
  pc.addEventListener('connectionstatechange', () =>
    record('pc', { state: pc.connectionState }),
  );
}

/** Calls `number` (sip:<number>@<domain>) with the microphone only. */
function call(number, domain) {
  const s = ua.call(`sip:${number}@${domain}`, {
    mediaConstraints: { audio: true, video: false },
    pcConfig: { iceServers: [] },
  });
  follow(s);
  return true;
}

/** Answers the next call that rings this user agent, with the microphone. */
function answerNext() {
  ua.on('newRTCSession', (e) => {
    if (e.originator !== 'remote' || session) return;
    const s = e.session;
    record('incoming', {
      from: s.remote_identity?.uri?.user ?? null,
      record: e.request?.getHeader('X-Callisto-Call') ?? null,
      line: e.request?.getHeader('X-Callisto-Line') ?? null,
      called: e.request?.getHeader('X-Callisto-Called') ?? null,
    });
    follow(s);
    s.answer({
      mediaConstraints: { audio: true, video: false },
      pcConfig: { iceServers: [] },
    });
  });
  return true;
}

/** Records what happens to session `s`, outgoing or incoming. */
function follow(s) {
  session = s;
  if (s.connection) watchRemote(s.connection);
  s.on('peerconnection', (e) => watchRemote(e.peerconnection));
  s.on('sending', () => record('sending'));
  s.on('sdp', (e) => {
    const m = /^m=audio .*$/m.exec(e.sdp);
    record('sdp', { originator: e.originator, sdpType: e.type, media: m ? m[0] : null });
  });
  s.on('progress', (e) => record('progress', sip(e.response)));
  s.on('accepted', (e) => record('accepted', sip(e.response)));
  s.on('confirmed', () => record('confirmed'));
  s.on('ended', (e) => record('ended', { originator: e.originator, cause: e.cause }));
  s.on('failed', (e) =>
    record('failed', { originator: e.originator, cause: e.cause, ...sip(e.message) }),
  );
  s.on('getusermediafailed', (e) => record('getusermediafailed', { error: String(e) }));
  s.on('peerconnection:setremotedescriptionfailed', (e) =>
    record('setremotedescriptionfailed', { error: String(e) }),
  );
}

// The dominant frequency (Hz, parabolic interpolation on the mean power
// spectrum) and the RMS level (dBFS) of `stream` over `ms` milliseconds.
async function analyse(stream, ms) {
  if (!audioCtx) audioCtx = new AudioContext();
  await audioCtx.resume();
  const source = audioCtx.createMediaStreamSource(stream);
  const analyser = audioCtx.createAnalyser();
  analyser.fftSize = 8192;
  analyser.smoothingTimeConstant = 0;
  source.connect(analyser);
  const bins = analyser.frequencyBinCount;
  const power = new Float64Array(bins);
  const spectrum = new Float32Array(bins);
  const wave = new Float32Array(analyser.fftSize);
  let sumSquares = 0;
  let samples = 0;
  let peak = 0;
  let frames = 0;
  const end = performance.now() + ms;
  // The analyser's window (8192 samples, ~170 ms at 48 kHz) is read every 50 ms.
  while (performance.now() < end) {
    await new Promise((r) => setTimeout(r, 50));
    analyser.getFloatFrequencyData(spectrum);
    for (let i = 0; i < bins; i++) {
      if (Number.isFinite(spectrum[i])) power[i] += Math.pow(10, spectrum[i] / 10);
    }
    analyser.getFloatTimeDomainData(wave);
    for (const v of wave) {
      sumSquares += v * v;
      peak = Math.max(peak, Math.abs(v));
    }
    samples += wave.length;
    frames++;
  }
  source.disconnect();
  const binHz = audioCtx.sampleRate / analyser.fftSize;
  let best = -1;
  for (let i = Math.ceil(50 / binHz); i < bins - 1; i++) {
    if (best < 0 || power[i] > power[best]) best = i;
  }
  let frequency = null;
  if (best > 0 && power[best] > 0) {
    const [a, b, c] = [power[best - 1], power[best], power[best + 1]].map((p) =>
      10 * Math.log10(p || 1e-30),
    );
    const d = a - 2 * b + c;
    const shift = d === 0 ? 0 : (0.5 * (a - c)) / d;
    frequency = Math.round((best + shift) * binHz * 10) / 10;
  }
  const rms = samples ? Math.sqrt(sumSquares / samples) : 0;
  const db = (x) => (x > 0 ? Math.round(20 * Math.log10(x) * 10) / 10 : null);
  return {
    frequency,
    levelDbfs: db(rms),
    peakDbfs: db(peak),
    ms,
    frames,
    sampleRate: audioCtx.sampleRate,
  };
}

/** The microphone (Chromium's fake capture from the WAV file), measured. */
async function measureMic(ms) {
  if (!localStream) {
    // Unprocessed, so the level is the file's (the call itself uses {audio: true}).
    localStream = await navigator.mediaDevices.getUserMedia({
      audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false },
      video: false,
    });
  }
  const out = await analyse(localStream, ms);
  for (const t of localStream.getTracks()) t.stop();
  localStream = null;
  return out;
}

/** The call's remote audio (what the agent hears), measured. */
async function measureRemote(ms) {
  if (!remoteStream) return { error: 'no remote audio track' };
  return analyse(remoteStream, ms);
}

/** Puts the call on hold (`on`) or resumes it: resolves 'ok' once the
 *  re-INVITE is answered, else with why not. */
function hold(on) {
  return new Promise((resolve) => {
    if (!session || session.isEnded()) return resolve('no call');
    const end = (e) => resolve(`ended: ${e.cause}`);
    session.once('ended', end);
    session.once('failed', end);
    const done = () => {
      record(on ? 'held' : 'resumed');
      resolve('ok');
    };
    const asked = on ? session.hold({}, done) : session.unhold({}, done);
    if (asked === false) resolve('refused');
  });
}

function hangup() {
  if (session && !session.isEnded()) session.terminate();
  return true;
}

async function stop(ms) {
  hangup();
  if (ua) {
    if (ua.isRegistered()) {
      ua.unregister();
      await waitFor(['unregistered'], ms);
    }
    ua.stop();
  }
  return true;
}

window.softphone = {
  start,
  call,
  answerNext,
  hold,
  waitFor,
  measureMic,
  measureRemote,
  hangup,
  stop,
  events: () => events.slice(),
};
