// The customer's tracking page: reads its order's view, draws the stages, the ETA and a map
// made from the city's own zones, follows the live socket (polling when the socket fails), and
// sends the drawn signature. No library, no third-party request (CSP: self only).
"use strict";

(function () {
  const token = location.pathname.split("/").filter(Boolean).pop();
  const api = `/api/v1/track/${token}`;
  const SVG = "http://www.w3.org/2000/svg";
  const STAGE_NAMES = {
    CREATED: "Order received", PAID: "Paid", PICKING: "Being picked at the store",
    OUT_OF_STOCK: "Waiting for stock", DELIVERING: "On its way", EXCEPTION: "Delayed on the way",
    SIGNED: "Delivered", RETURNING: "Being returned", RETURNED: "Returned",
    CLAIMING: "Claim under review", CLAIM_SETTLED: "Claim settled", CANCELLED: "Cancelled",
  };
  const POLL_MS = 10000;
  const HEARTBEAT_MS = 15000;

  let view = null;
  let zones = [];
  let frame = null;
  let trackPoints = [];
  let socket = null;
  let failures = 0;
  let pollTimer = null;

  const $ = (id) => document.getElementById(id);
  const time = (iso) =>
    new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });

  // --- The map: an equirectangular projection of the order's zone, scaled to the viewBox ---

  function makeFrame() {
    const own = zones.find((z) => z.name === view.zone);
    const points = [...(own ? own.polygon : []), [view.store.lat, view.store.lng],
      [view.destination.lat, view.destination.lng]];
    if (view.rider_position) points.push([view.rider_position.lat, view.rider_position.lng]);
    let [south, north, west, east] = [90, -90, 180, -180];
    for (const [lat, lng] of points) {
      south = Math.min(south, lat); north = Math.max(north, lat);
      west = Math.min(west, lng); east = Math.max(east, lng);
    }
    const padLat = (north - south) * 0.15 + 0.002;
    const padLng = (east - west) * 0.15 + 0.002;
    south -= padLat; north += padLat; west -= padLng; east += padLng;
    const kx = Math.cos(((south + north) / 2) * Math.PI / 180);
    const width = (east - west) * kx;
    const height = north - south;
    const scale = Math.min(1000 / width, 700 / height);
    const dx = (1000 - width * scale) / 2;
    const dy = (700 - height * scale) / 2;
    return (lat, lng) => [dx + (lng - west) * kx * scale, dy + (north - lat) * scale];
  }

  function drawMap() {
    frame = makeFrame();
    const group = $("zones");
    group.replaceChildren();
    for (const zone of zones) {
      const shape = document.createElementNS(SVG, "polygon");
      shape.setAttribute("points", zone.polygon.map(([a, b]) => frame(a, b).join(",")).join(" "));
      if (zone.name === view.zone) shape.setAttribute("class", "own");
      group.appendChild(shape);
    }
    const [sx, sy] = frame(view.store.lat, view.store.lng);
    $("store").innerHTML =
      `<rect x="${sx - 13}" y="${sy - 13}" width="26" height="26" rx="5"><title>Store</title></rect>`;
    const [hx, hy] = frame(view.destination.lat, view.destination.lng);
    $("destination").innerHTML = `<circle cx="${hx}" cy="${hy}" r="15"><title>You</title></circle>`;
    drawRider();
  }

  function drawRider() {
    const dot = $("rider-dot");
    const track = $("track");
    if (!frame || !view.rider_position) {
      dot.setAttribute("cx", "-100"); dot.setAttribute("cy", "-100");
      track.setAttribute("points", "");
      return;
    }
    const [x, y] = frame(view.rider_position.lat, view.rider_position.lng);
    dot.setAttribute("cx", x.toFixed(1)); dot.setAttribute("cy", y.toFixed(1));
    track.setAttribute("points", trackPoints.map((p) => frame(p.lat, p.lng).join(",")).join(" "));
  }

  // --- The view ---------------------------------------------------------------------------

  function render(next) {
    if (view && next.seq < view.seq) return; // an older view than the one shown
    const zoneChanged = !view || view.zone !== next.zone;
    view = next;
    trackPoints = view.track.slice();
    $("title").textContent = `Order ${view.reference}`;
    $("status").textContent = STAGE_NAMES[view.status] || view.status;
    const done = ["SIGNED", "RETURNED", "CLAIM_SETTLED", "CANCELLED"].includes(view.status);
    if (view.status === "SIGNED") {
      const signedAt = view.stages.find((s) => s.state === "SIGNED");
      $("eta").textContent = signedAt ? `Delivered ${time(signedAt.at)}` : "Delivered";
    } else if (done) {
      $("eta").textContent = STAGE_NAMES[view.status];
    } else {
      $("eta").textContent = view.eta ? time(view.eta) : `by ${time(view.promised_at)}`;
    }
    $("promise").textContent = `Promised by ${time(view.promised_at)}`;
    $("rider").textContent = view.rider
      ? `Your rider: ${view.rider.first_name} · ${view.rider.phone}` : "";
    const timeline = $("timeline");
    timeline.replaceChildren(...view.stages.map((stage) => {
      const item = document.createElement("li");
      item.textContent = STAGE_NAMES[stage.state] || stage.state;
      const at = document.createElement("time");
      at.dateTime = stage.at; at.textContent = time(stage.at);
      item.appendChild(at);
      return item;
    }));
    $("items").replaceChildren(...view.items.map((line) => {
      const item = document.createElement("li");
      item.textContent = `${line.quantity} × ${line.name} (${line.unit})`;
      return item;
    }));
    $("sign-box").hidden = !view.can_sign;
    $("signed-note").hidden = !view.signed;
    const pin = $("pin");
    pin.hidden = !view.pin;
    if (view.pin) pin.innerHTML = `Or tell your rider your PIN: <strong>${view.pin}</strong>`;
    if (zones.length && (zoneChanged || !frame)) drawMap(); else drawRider();
  }

  function moveRider(position) {
    if (!view || view.status !== "DELIVERING") return;
    view.rider_position = { lat: position.lat, lng: position.lng, at: position.at };
    trackPoints.push(view.rider_position);
    drawRider();
  }

  async function load() {
    const response = await fetch(api, { cache: "no-store" });
    if (response.status === 404) { location.reload(); return; }
    if (response.ok) render(await response.json());
  }

  // --- Live: the socket, and polling while it fails ----------------------------------------

  function connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const since = view ? `?since=${view.seq}` : "";
    socket = new WebSocket(`${scheme}://${location.host}${api}/live${since}`);
    let beat = null;
    socket.onopen = () => {
      failures = 0;
      stopPolling();
      $("connection").textContent = "live";
      beat = setInterval(() => socket.send('{"type":"heartbeat"}'), HEARTBEAT_MS);
    };
    socket.onmessage = (message) => {
      const data = JSON.parse(message.data);
      if (data.type === "view") render(data.view);
      else if (data.type === "position") moveRider(data);
    };
    socket.onclose = (closed) => {
      clearInterval(beat);
      if (closed.code === 4404) { location.reload(); return; }
      failures += 1;
      $("connection").textContent = "reconnecting…";
      if (failures >= 3) startPolling();
      const wait = Math.min(30000, 1000 * 2 ** Math.min(failures, 5)) * (0.5 + Math.random());
      setTimeout(connect, wait);
    };
  }

  function startPolling() {
    if (pollTimer) return;
    $("connection").textContent = "updating every few seconds";
    pollTimer = setInterval(() => load().catch(() => {}), POLL_MS);
  }

  function stopPolling() {
    if (pollTimer) { clearInterval(pollTimer); pollTimer = null; }
  }

  // --- The signature pad -------------------------------------------------------------------

  function pad() {
    const canvas = $("signature-pad");
    const ink = canvas.getContext("2d");
    let drawing = false;
    let strokes = 0;
    const at = (event) => {
      const box = canvas.getBoundingClientRect();
      return [(event.clientX - box.left) * canvas.width / box.width,
        (event.clientY - box.top) * canvas.height / box.height];
    };
    ink.lineWidth = 4; ink.lineCap = "round"; ink.lineJoin = "round"; ink.strokeStyle = "#1d2a22";
    canvas.addEventListener("pointerdown", (event) => {
      drawing = true; canvas.setPointerCapture(event.pointerId);
      ink.beginPath(); ink.moveTo(...at(event));
    });
    canvas.addEventListener("pointermove", (event) => {
      if (!drawing) return;
      ink.lineTo(...at(event)); ink.stroke();
      strokes += 1;
      $("sign-button").disabled = strokes < 3;
    });
    const stop = () => { drawing = false; };
    canvas.addEventListener("pointerup", stop);
    canvas.addEventListener("pointercancel", stop);
    $("clear-button").addEventListener("click", () => {
      ink.clearRect(0, 0, canvas.width, canvas.height);
      strokes = 0; $("sign-button").disabled = true;
    });
    $("sign-button").addEventListener("click", async () => {
      $("sign-button").disabled = true;
      const error = $("sign-error");
      error.hidden = true;
      const response = await fetch(`${api}/signature`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ signature_png: canvas.toDataURL("image/png") }),
      });
      if (response.ok) {
        $("sign-box").hidden = true;
        $("signed-note").hidden = false;
        await load();
      } else {
        const body = await response.json().catch(() => ({}));
        error.textContent = typeof body.detail === "string" ? body.detail : "Not signed; try again.";
        error.hidden = false;
        $("sign-button").disabled = false;
      }
    });
  }

  async function start() {
    pad();
    const [mapAnswer] = await Promise.all([fetch(`${api}/map`), load()]);
    if (mapAnswer.ok) zones = (await mapAnswer.json()).zones;
    if (view) drawMap();
    connect();
  }

  start().catch(() => startPolling());
})();
