/**
 * The camera wall: every camera's live video with its health, its zones and counting lines drawn
 * over it; #/wall/{camera_id} shows one camera full size.
 *
 * Video comes over WebRTC (POST /api/cameras/{id}/webrtc: the camera's own H.264 when the browser
 * decodes it, VP8 otherwise). When WebRTC has not shown a frame within FALLBACK_MS (a firewall
 * blocking UDP, say), the tile switches to MJPEG (GET /api/cameras/{id}/mjpeg, a few pictures a
 * second, over plain HTTP with the session cookie). A camera that already has as many viewers as
 * it allows answers 503: the tile says so instead of adding to its load.
 *
 * While a tile is live it fetches the camera's current detections (GET /api/cameras/{id}/detections,
 * published by the analytics twice a second) every DETECTIONS_MS and draws their boxes with the zones;
 * detections the API calls stale (analytics stopped or behind) are not drawn.
 *
 * For browser tests: window.__mkWall = {cameras, connected: {camera_id: "connecting"|"webrtc"|"fallback"|"busy"|"error"},
 * detections: {camera_id: boxes drawn now}},
 * and `await window.__mkWallStats(camera_id)` gives the WebRTC receiver's figures (frames decoded,
 * frame rate, jitter-buffer delay, codec) and the time from the offer to the first frame shown.
 */

import { api, el, navigate, registerView, t } from "../app.js";

const FALLBACK_MS = 8000; // no frame by then over WebRTC: switch to MJPEG
const ICE_GATHER_MS = 3000; // host candidates come in milliseconds; never wait longer than this
const MJPEG_FPS = 2;
const DETECTIONS_MS = 500; // the analytics publishes each camera's detections twice a second
const REFRESH_MS = 15000; // camera health is not on the live feed: poll it
const DOWN = new Set(["offline", "auth_failed", "tampered"]);

function healthClass(state) {
  if (state === "online") return "ok";
  if (state === "degraded") return "warn";
  if (DOWN.has(state)) return "down";
  return "idle";
}

/** Gather every ICE candidate first: the server answers a complete offer (no trickle). */
function iceGathered(pc) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      if (pc.iceGatheringState !== "complete") return;
      pc.removeEventListener("icegatheringstatechange", done);
      resolve();
    };
    pc.addEventListener("icegatheringstatechange", done);
    setTimeout(resolve, ICE_GATHER_MS);
  });
}

/** One camera's tile: its video, MJPEG fallback, overlay and connection. */
class Tile {
  constructor(camera, { large, onState, onDetections }) {
    this.camera = camera;
    this.onState = onState;
    this.onDetections = onDetections;
    this.detections = [];
    this.poller = null;
    this.pc = null;
    this.timer = null;
    this.closed = false;
    this.overlay = { zones: [], lines: [] };
    this.offeredAt = null;
    this.firstFrameMs = null;
    this.video = el("video", { autoplay: true, muted: true, playsinline: true, class: "wall-video", "aria-label": camera.name });
    this.video.muted = true; // the property, which autoplay without a user gesture needs
    this.image = el("img", { class: "wall-video", alt: camera.name, hidden: true });
    this.canvas = el("canvas", { class: "wall-overlay", "aria-hidden": "true" });
    this.note = el("p", { class: "wall-note", role: "status" });
    this.badge = el("span", { class: "mk-pill" });
    this.mode = el("span", { class: "wall-mode muted" });
    this.media = el("div", { class: "wall-media" }, this.video, this.image, this.canvas, this.note);
    const title = large
      ? el("h1", { class: "wall-name", text: camera.name })
      : el("a", { class: "wall-name", href: `#/wall/${encodeURIComponent(camera.id)}`, text: camera.name });
    this.node = el(
      "figure",
      { class: ["wall-tile", large && "wall-large"], "data-camera": camera.id },
      this.media,
      el("figcaption", {}, title, this.badge, this.mode),
    );
    if (!large) this.media.addEventListener("click", () => navigate(`#/wall/${encodeURIComponent(camera.id)}`));
    this.video.addEventListener("loadedmetadata", () => this.fit(this.video.videoWidth, this.video.videoHeight));
    this.image.addEventListener("load", () => this.fit(this.image.naturalWidth, this.image.naturalHeight));
    this.resize = new ResizeObserver(() => this.draw());
    this.resize.observe(this.media);
    this.health(camera.status);
  }

  health(status) {
    this.badge.className = `mk-pill mk-${healthClass(status.state)}`;
    this.badge.textContent = t(`wall.state.${status.state}`);
    this.badge.title = status.reason || "";
  }

  setState(state, message) {
    this.state = state;
    this.mode.textContent = t(`wall.mode.${state}`);
    this.note.textContent = message || "";
    this.note.hidden = !message;
    this.onState(this.camera.id, state);
    if (state === "webrtc" || state === "fallback") this.watchDetections();
    else if (state === "busy" || state === "error") this.unwatchDetections();
  }

  /** Fetch the camera's current detections every DETECTIONS_MS while the tile is live, and draw them. */
  watchDetections() {
    if (this.poller !== null || this.closed) return;
    const url = `/api/cameras/${encodeURIComponent(this.camera.id)}/detections`;
    let waiting = false; // one request at a time: a slow answer is not queued behind
    this.poller = setInterval(async () => {
      if (waiting) return;
      waiting = true;
      let boxes = [];
      try {
        const found = await api(url);
        if (!found.stale) boxes = found.boxes;
      } catch {
        // none published yet, or analytics is not running: the video shows without boxes
      } finally {
        waiting = false;
      }
      if (this.poller === null) return; // the tile stopped while the request was out
      this.showDetections(boxes);
    }, DETECTIONS_MS);
  }

  unwatchDetections() {
    clearInterval(this.poller);
    this.poller = null;
    if (this.detections.length) this.showDetections([]);
  }

  showDetections(boxes) {
    const changed = boxes.length || this.detections.length;
    this.detections = boxes;
    this.onDetections(this.camera.id, boxes.length);
    if (changed) this.draw();
  }

  async start() {
    api(`/api/cameras/${encodeURIComponent(this.camera.id)}/overlay`)
      .then((overlay) => {
        this.overlay = overlay;
        this.draw();
      })
      .catch(() => {}); // the video matters more than its drawing
    this.setState("connecting", t("wall.connecting"));
    this.timer = setTimeout(() => this.fallback(), FALLBACK_MS);
    try {
      await this.connect();
    } catch (err) {
      if (this.closed) return;
      clearTimeout(this.timer);
      if (err.status === 503 && /viewer/.test(err.message)) this.setState("busy", t("wall.busy"));
      else if (err.status === 409 || err.status === 404) this.setState("error", t("wall.noStream"));
      else this.fallback();
    }
  }

  async connect() {
    const pc = new RTCPeerConnection({ iceServers: [] }); // the server is on the operators' network
    this.pc = pc;
    pc.addTransceiver("video", { direction: "recvonly" });
    pc.addEventListener("track", (event) => {
      this.video.srcObject = event.streams[0] || new MediaStream([event.track]);
    });
    pc.addEventListener("connectionstatechange", () => {
      if (pc.connectionState === "failed" && this.pc === pc) this.fallback();
    });
    this.video.addEventListener("playing", () => this.shown(), { once: true });
    await pc.setLocalDescription(await pc.createOffer());
    await iceGathered(pc);
    if (this.closed) return;
    this.offeredAt = performance.now();
    const answer = await api(`/api/cameras/${encodeURIComponent(this.camera.id)}/webrtc`, {
      body: { sdp: pc.localDescription.sdp, type: pc.localDescription.type },
    });
    if (this.closed || this.pc !== pc) return;
    await pc.setRemoteDescription(answer);
  }

  shown() {
    if (this.closed || this.state === "fallback") return;
    clearTimeout(this.timer);
    this.firstFrameMs = this.offeredAt === null ? null : Math.round(performance.now() - this.offeredAt);
    this.setState("webrtc");
  }

  fallback() {
    if (this.closed || this.state === "fallback") return;
    clearTimeout(this.timer);
    this.stopPeer();
    this.video.hidden = true;
    this.image.hidden = false;
    this.image.src = `/api/cameras/${encodeURIComponent(this.camera.id)}/mjpeg?fps=${MJPEG_FPS}`;
    this.image.addEventListener("error", () => this.setState("error", t("wall.noStream")), { once: true });
    this.setState("fallback");
  }

  stopPeer() {
    if (this.pc) this.pc.close();
    this.pc = null;
    this.video.srcObject = null;
  }

  stop() {
    this.closed = true;
    clearTimeout(this.timer);
    this.stopPeer();
    clearInterval(this.poller);
    this.poller = null;
    this.image.removeAttribute("src"); // ends the MJPEG request, freeing its viewer slot
    this.resize.disconnect();
  }

  /** Give the tile the picture's shape, so the overlay's 0-1 coordinates land on the picture. */
  fit(width, height) {
    if (width > 0 && height > 0) {
      this.media.style.aspectRatio = `${width} / ${height}`;
      this.media.style.setProperty("--wall-aspect", String(width / height));
    }
    this.draw();
  }

  draw() {
    const { canvas } = this;
    const ratio = window.devicePixelRatio || 1;
    const width = this.media.clientWidth;
    const height = this.media.clientHeight;
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
    const ctx = canvas.getContext("2d");
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, width, height);
    ctx.lineWidth = 2;
    ctx.font = "12px system-ui, sans-serif";
    for (const zone of this.overlay.zones) {
      ctx.beginPath();
      zone.polygon.forEach(([x, y], i) => (i ? ctx.lineTo(x * width, y * height) : ctx.moveTo(x * width, y * height)));
      ctx.closePath();
      ctx.fillStyle = "rgba(61, 220, 132, 0.12)";
      ctx.strokeStyle = "rgba(61, 220, 132, 0.9)";
      ctx.fill();
      ctx.stroke();
      const [x, y] = zone.polygon[0];
      ctx.fillStyle = "#3ddc84";
      ctx.fillText(zone.name, x * width + 4, Math.max(12, y * height - 4));
    }
    for (const line of this.overlay.lines) {
      const [[ax, ay], [bx, by]] = line.points;
      ctx.beginPath();
      ctx.moveTo(ax * width, ay * height);
      ctx.lineTo(bx * width, by * height);
      ctx.strokeStyle = "#ffc53d";
      ctx.stroke();
      ctx.fillStyle = "#ffc53d";
      ctx.fillText(line.name, ax * width + 4, ay * height - 4);
    }
    for (const found of this.detections) {
      const [x1, y1, x2, y2] = found.box;
      ctx.strokeStyle = "#4cc9f0";
      ctx.strokeRect(x1 * width, y1 * height, (x2 - x1) * width, (y2 - y1) * height);
      const track = found.track_id === null || found.track_id === undefined ? "" : ` #${found.track_id}`;
      const label = `${found.class}${track} ${Math.round(found.confidence * 100)}%`;
      const top = Math.max(0, y1 * height - 16);
      ctx.fillStyle = "rgba(0, 0, 0, 0.6)";
      ctx.fillRect(x1 * width, top, ctx.measureText(label).width + 8, 16);
      ctx.fillStyle = "#4cc9f0";
      ctx.fillText(label, x1 * width + 4, top + 12);
    }
  }

  /** The receiver's figures, for tests and for anyone debugging a slow picture. */
  async stats() {
    const out = {
      state: this.state,
      timeToFirstFrameMs: this.firstFrameMs,
      videoWidth: this.video.videoWidth,
      videoHeight: this.video.videoHeight,
    };
    if (!this.pc) return out;
    const report = await this.pc.getStats();
    const codecs = new Map();
    report.forEach((entry) => {
      if (entry.type === "codec") codecs.set(entry.id, entry.mimeType);
    });
    report.forEach((entry) => {
      if (entry.type !== "inbound-rtp" || entry.kind !== "video") return;
      out.codec = codecs.get(entry.codecId) || null;
      out.framesDecoded = entry.framesDecoded;
      out.framesPerSecond = entry.framesPerSecond;
      out.jitterBufferDelay = entry.jitterBufferDelay;
      out.jitterBufferEmittedCount = entry.jitterBufferEmittedCount;
      out.jitterBufferMs = entry.jitterBufferEmittedCount ? (1000 * entry.jitterBufferDelay) / entry.jitterBufferEmittedCount : null;
      out.totalDecodeTime = entry.totalDecodeTime;
      out.packetsLost = entry.packetsLost;
    });
    return out;
  }
}

registerView("wall", {
  titleKey: "wall.title",
  async render(container, params) {
    const cameras = (await api("/api/cameras")).filter((camera) => camera.enabled);
    const one = params.camera_id ? cameras.filter((camera) => camera.id === params.camera_id) : cameras;
    const state = { cameras: one.length, connected: {}, detections: {} };
    window.__mkWall = state;
    const onState = (id, value) => {
      state.connected[id] = value;
    };
    const onDetections = (id, count) => {
      state.detections[id] = count;
    };
    const large = Boolean(params.camera_id);
    const tiles = new Map(one.map((camera) => [camera.id, new Tile(camera, { large, onState, onDetections })]));
    window.__mkWallStats = (id) => (tiles.has(id) ? tiles.get(id).stats() : Promise.resolve(null));

    if (params.camera_id) {
      container.append(el("p", {}, el("a", { href: "#/wall", text: t("wall.back") })));
      if (!one.length) container.append(el("p", { class: "error", role: "alert", text: t("wall.unknown") }));
    } else {
      container.append(el("h1", { text: t("wall.title") }));
      if (!one.length) container.append(el("p", { class: "muted", text: t("wall.empty") }));
    }
    container.append(el("div", { class: ["wall-grid", params.camera_id && "wall-single"] }, [...tiles.values()].map((tile) => tile.node)));
    for (const tile of tiles.values()) tile.start();

    const refresh = setInterval(async () => {
      try {
        for (const camera of await api("/api/cameras")) tiles.get(camera.id)?.health(camera.status);
      } catch {
        // the next poll tries again; the video does not depend on it
      }
    }, REFRESH_MS);

    return () => {
      clearInterval(refresh);
      for (const tile of tiles.values()) tile.stop();
      if (window.__mkWall === state) [state.connected, state.detections] = [{}, {}];
    };
  },
});
