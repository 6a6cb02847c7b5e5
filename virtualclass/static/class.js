/* The virtual class page: presence, chat, raised hands, presence checks, the whiteboard,
   shared files over Socket.IO (namespace /class), and audio and video through Janus.
   Everything a person reads is in French; every control is a button or a form field. */
(function () {
  "use strict";
  var root = document.getElementById("classe");
  if (!root) return;
  var sessionId = root.dataset.session;
  var isTrainer = root.dataset.trainer === "oui";
  var me = root.dataset.me;
  var state = {people: [], version: -1, hands: {}, sid: null, media: null, check: null};
  var $ = function (id) { return document.getElementById(id); };

  function text(el, value) { el.textContent = value; return el; }
  function node(tag, cls, value) {
    var el = document.createElement(tag);
    if (cls) el.className = cls;
    if (value !== undefined) el.textContent = value;
    return el;
  }
  function time(iso) { return iso ? iso.slice(11, 16).replace(":", " h ") : ""; }
  function errorOf(ack) { return (ack && ack.error && ack.error.message) || "Action refusée."; }

  var socket = io(root.dataset.namespace, {transports: ["websocket", "polling"]});
  window.classSocket = socket; // for the browser test and the curious

  function send(event, body, done) {
    body.session_id = sessionId;
    socket.emit(event, body, function (ack) { if (done) done(ack || {ok: false}); });
  }

  socket.on("connect", function () {
    text($("etat-connexion"), "Connexion à la classe…");
    send("join", {}, function (ack) {
      if (!ack.ok) { text($("etat-connexion"), errorOf(ack)); return; }
      state.sid = ack.sid;
      text($("etat-connexion"), "Vous êtes dans la classe.");
      newPresence(ack.presence, ack.presence_version);
      board.reset(ack.board);
      ack.files.forEach(addFile);
      if (!state.media) startMedia(ack.media);
    });
  });
  socket.on("connect_error", function () {
    text($("etat-connexion"), "Connexion impossible : rechargez la page ou reconnectez-vous.");
  });
  socket.on("disconnect", function () {
    text($("etat-connexion"), "Connexion perdue… nouvelle tentative en cours.");
  });

  /* -- participants and hands ------------------------------------------------------------ */
  /* Two lists told at once (two joins, two server processes) may arrive in either order:
     keep the one of the highest version, read last on the server. */
  socket.on("presence", function (msg) { newPresence(msg.people, msg.version); });
  function newPresence(people, version) {
    if (version < state.version) return;
    state.version = version;
    drawPresence(people);
  }
  socket.on("hand", function (msg) {
    if (msg.raised) state.hands[msg.id] = true; else delete state.hands[msg.id];
    drawPresence(state.people);
    if (msg.raised && msg.id !== me) say(msg.name + " lève la main.");
  });
  function drawPresence(people) {
    state.people = people;
    var list = $("participants");
    list.innerHTML = "";
    people.forEach(function (p) {
      var li = node("li");
      li.id = "p-" + p.id;
      li.appendChild(node("span", "name", p.name));
      li.appendChild(node("span", "hint", p.kind === "trainer" ? "formateur" : "stagiaire"));
      if (state.hands[p.id]) li.appendChild(node("span", "hand", "✋ main levée"));
      if (isTrainer && p.id !== me) {
        li.appendChild(control("Couper le micro", "mute", p));
        li.appendChild(control("Donner la parole", "floor", p));
      }
      list.appendChild(li);
    });
    text($("compte"), String(people.length));
  }
  function control(label, action, person) {
    var b = node("button", "secondary", label);
    b.type = "button";
    b.setAttribute("aria-label", label + " : " + person.name);
    b.addEventListener("click", function () { send("control", {action: action, target: person.id}); });
    return b;
  }
  var hand = $("main");
  hand.addEventListener("click", function () {
    var raised = hand.getAttribute("aria-pressed") !== "true";
    send("hand", {raised: raised}, function (ack) {
      if (!ack.ok) return say(errorOf(ack));
      hand.setAttribute("aria-pressed", String(raised));
      text(hand, raised ? "Baisser la main" : "Lever la main");
    });
  });
  socket.on("control", function (msg) {
    if (msg.action === "end") {
      text($("etat-connexion"), "Le formateur a terminé la classe.");
      stopMedia();
      setTimeout(function () { location.reload(); }, 1500);
    } else if (msg.target === me && msg.action === "mute") {
      muteMe(true);
      say("Le formateur a coupé votre micro.");
    } else if (msg.target === me && msg.action === "floor") {
      muteMe(false);
      say("Le formateur vous donne la parole : votre micro est ouvert.");
    }
  });
  if (isTrainer) {
    $("terminer").addEventListener("click", function () {
      if (!confirm("Terminer la classe ? La séance sera close : les stagiaires sans émargement seront notés absents.")) return;
      send("control", {action: "end"}, function (ack) { if (!ack.ok) say(errorOf(ack)); });
    });
    $("faire-appel").addEventListener("click", function () {
      send("presence_check", {}, function (ack) {
        say(ack.ok ? "Appel lancé : les stagiaires ont " + ack.window_s + " secondes pour répondre." : errorOf(ack));
      });
    });
  }

  /* -- presence checks: a timely answer is the trainee's émargement ------------------------ */
  socket.on("presence_check", function (msg) {
    if (isTrainer) return;
    state.check = msg.check_id;
    text($("appel-fin"), time(msg.closes_at));
    $("appel").hidden = false;
    $("appel-repondre").focus();
  });
  $("appel-repondre").addEventListener("click", function () {
    send("presence_ack", {check_id: state.check}, function (ack) {
      $("appel").hidden = true;
      text($("appel-resultat"), ack.ok
        ? "Présence enregistrée à " + time(ack.signed_at) + (ack.already_signed ? " (vous aviez déjà émargé)." : " : vous avez émargé.")
        : errorOf(ack));
    });
  });
  socket.on("presence_ack", function (msg) {
    if (isTrainer) say(msg.name + " a répondu à l'appel.");
  });

  /* -- chat ---------------------------------------------------------------------------- */
  socket.on("chat", function (msg) {
    var li = node("li");
    li.appendChild(node("span", "at", time(msg.at) + " "));
    li.appendChild(node("span", "by", msg.name + " : "));
    li.appendChild(node("span", "", msg.text));
    $("messages").appendChild(li);
    $("messages").scrollTop = $("messages").scrollHeight;
  });
  $("ecrire").addEventListener("submit", function (e) {
    e.preventDefault();
    var box = $("message");
    send("chat", {text: box.value}, function (ack) {
      text($("discussion-erreur"), ack.ok ? "" : errorOf(ack));
      if (ack.ok) box.value = "";
    });
  });
  function say(message) {
    var li = node("li", "hint", message);
    $("messages").appendChild(li);
  }

  /* -- whiteboard: points in 0..1 so every screen draws the same -------------------------- */
  var board = (function () {
    var canvas = $("tableau"), ctx = canvas.getContext("2d"), current = null;
    function draw(s) {
      if (s.tool === "clear") { ctx.clearRect(0, 0, canvas.width, canvas.height); return; }
      ctx.strokeStyle = s.tool === "eraser" ? "#ffffff" : s.colour;
      ctx.lineWidth = s.width; ctx.lineCap = "round"; ctx.lineJoin = "round";
      ctx.beginPath();
      s.points.forEach(function (p, i) {
        var x = p[0] * canvas.width, y = p[1] * canvas.height;
        if (i === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
      });
      if (s.points.length === 1) ctx.lineTo(s.points[0][0] * canvas.width + 0.1, s.points[0][1] * canvas.height);
      ctx.stroke();
    }
    function at(e) {
      var r = canvas.getBoundingClientRect();
      var clamp = function (v) { return Math.min(1, Math.max(0, v)); };
      return [clamp((e.clientX - r.left) / r.width), clamp((e.clientY - r.top) / r.height)];
    }
    canvas.addEventListener("pointerdown", function (e) {
      canvas.setPointerCapture(e.pointerId);
      current = {tool: "pen", colour: $("couleur").value, width: 3, points: [at(e)]};
    });
    canvas.addEventListener("pointermove", function (e) {
      if (!current || current.points.length >= 2000) return;
      current.points.push(at(e));
      draw({tool: current.tool, colour: current.colour, width: current.width, points: current.points.slice(-2)});
    });
    canvas.addEventListener("pointerup", function () {
      if (!current) return;
      var s = current; current = null;
      draw(s);
      send("whiteboard", {stroke: s}, function (ack) { if (!ack.ok) say(errorOf(ack)); });
    });
    if ($("effacer")) $("effacer").addEventListener("click", function () {
      send("whiteboard", {stroke: {tool: "clear"}}, function (ack) {
        if (ack.ok) draw({tool: "clear"}); else say(errorOf(ack));
      });
    });
    return {
      draw: draw,
      reset: function (strokes) { draw({tool: "clear"}); strokes.forEach(draw); }
    };
  })();
  socket.on("whiteboard", function (msg) { board.draw(msg.stroke); });

  /* -- files: announced in the room, uploaded over HTTP ----------------------------------- */
  function addFile(f) {
    if ($("f-" + f.id)) return;
    var none = $("aucun-fichier");
    if (none) none.remove();
    var li = node("li"); li.id = "f-" + f.id;
    var a = node("a", "", f.name); a.href = f.url;
    li.appendChild(a);
    li.appendChild(node("span", "hint", " (" + Math.ceil(f.size / 1024) + " Ko, par " + f.by + ")"));
    $("fichiers").appendChild(li);
  }
  socket.on("file", function (msg) { addFile(msg); say(msg.by + " a partagé « " + msg.name + " »."); });
  var shareForm = $("partager");
  if (shareForm) shareForm.addEventListener("submit", function (e) {
    e.preventDefault();
    fetch(root.dataset.upload, {
      method: "POST", body: new FormData(shareForm), credentials: "same-origin",
      headers: {"Accept": "application/json", "X-CSRFToken": root.dataset.csrf}
    }).then(function (r) { return r.json().then(function (body) { return [r.ok, body]; }); })
      .then(function (res) {
        if (res[0]) { shareForm.reset(); addFile(res[1]); }
        else say((res[1].error && res[1].error.message) || "Envoi refusé.");
      }).catch(function () { say("Envoi impossible : vérifiez votre connexion."); });
  });

  /* -- audio and video through Janus (VideoRoom): publish once, subscribe to the others --- */
  var janus = null, publisher = null, feeds = {}, localStream = null;
  window.classMedia = {feeds: feeds}; // the subscriptions, for the browser test's getStats
  function mediaState(message) { text($("media-etat"), message); }
  function startMedia(media) {
    state.media = media;
    if (!media.available) {
      mediaState(media.conference_url
        ? "La vidéo intégrée n'est pas disponible : utilisez le lien de visioconférence ci-dessous."
        : "La vidéo n'est pas disponible pour cette classe : la discussion, le tableau, les fichiers et l'appel fonctionnent.");
      return;
    }
    if (typeof Janus === "undefined") { mediaState("La vidéo n'a pas pu être chargée."); return; }
    Janus.init({debug: false, dependencies: Janus.useDefaultDependencies(), callback: function () {
      janus = new Janus({
        server: media.server, token: media.token, iceServers: media.ice_servers,
        success: joinRoom,
        error: function () { mediaState("La vidéo s'est interrompue : rechargez la page pour la retrouver."); },
        destroyed: function () { mediaState("Vidéo arrêtée."); }
      });
    }});
  }
  function joinRoom() {
    janus.attach({
      plugin: "janus.plugin.videoroom",
      success: function (handle) {
        publisher = handle;
        handle.send({message: {request: "join", room: state.media.room, ptype: "publisher",
                               display: JSON.stringify({id: me}), token: state.media.token}});
      },
      error: function () { mediaState("La vidéo n'est pas disponible."); },
      onmessage: function (msg, jsep) {
        if (msg.videoroom === "joined") {
          mediaState("Vidéo prête. Activez votre caméra et votre micro quand vous le souhaitez.");
          $("media-demarrer").hidden = false;
          if (isTrainer) publish();
        }
        (msg.publishers || []).forEach(subscribe);
        var gone = msg.leaving || msg.unpublished;
        if (gone && feeds[gone]) { feeds[gone].detach(); removeVideo("v-" + gone); delete feeds[gone]; }
        if (jsep) publisher.handleRemoteJsep({jsep: jsep});
      },
      onlocaltrack: function (track, on) {
        if (track.kind !== "video") return;
        if (!on) { removeVideo("v-moi"); return; }
        localStream = new MediaStream([track]);
        showVideo("v-moi", "Vous", localStream, true, me);
      }
    });
  }
  function publish() {
    publisher.createOffer({
      tracks: [{type: "audio", capture: true, recv: false}, {type: "video", capture: true, recv: false}],
      success: function (jsep) {
        publisher.send({message: {request: "publish", audio: true, video: true}, jsep: jsep});
        $("media-demarrer").hidden = true;
        $("media-micro").hidden = false;
        $("media-ecran").hidden = !(navigator.mediaDevices && navigator.mediaDevices.getDisplayMedia);
        mediaState("Vous êtes en direct.");
      },
      error: function () { mediaState("Caméra ou micro indisponible : vérifiez les autorisations du navigateur."); }
    });
  }
  function subscribe(feed) {
    if (feeds[feed.id]) return;
    var who = "Participant", person = "";
    try { person = JSON.parse(feed.display).id; who = nameOf(person); } catch (e) { /* another client's display */ }
    janus.attach({
      plugin: "janus.plugin.videoroom",
      success: function (handle) {
        feeds[feed.id] = handle;
        handle.send({message: {request: "join", room: state.media.room, ptype: "subscriber",
                               streams: [{feed: feed.id}], token: state.media.token}});
      },
      onmessage: function (msg, jsep) {
        if (!jsep) return;
        var handle = feeds[feed.id];
        handle.createAnswer({jsep: jsep, tracks: [{type: "data"}], success: function (answer) {
          handle.send({message: {request: "start", room: state.media.room}, jsep: answer});
        }});
      },
      onremotetrack: function (track, mid, on) {
        var id = "v-" + feed.id;
        if (!on) { if (track.kind === "video") removeVideo(id); return; }
        var existing = $(id);
        if (existing) { existing.querySelector("video").srcObject.addTrack(track); return; }
        showVideo(id, who, new MediaStream([track]), false, person);
      }
    });
  }
  function nameOf(id) {
    var p = state.people.filter(function (x) { return x.id === id; })[0];
    return p ? p.name : "Participant";
  }
  function showVideo(id, label, stream, muted, person) {
    removeVideo(id);
    var fig = node("figure"); fig.id = id;
    fig.dataset.person = person || ""; // whose screen it is (control.js draws the pointer over it)
    var v = document.createElement("video");
    v.autoplay = true; v.playsInline = true; v.muted = muted; v.srcObject = stream;
    v.setAttribute("aria-label", "Vidéo de " + label);
    fig.appendChild(v);
    fig.appendChild(node("figcaption", "", label));
    $("videos").appendChild(fig);
  }
  function removeVideo(id) { var el = $(id); if (el) el.remove(); }
  function muteMe(muted) {
    if (!publisher) return;
    if (muted) publisher.muteAudio(); else publisher.unmuteAudio();
    var b = $("media-micro");
    b.setAttribute("aria-pressed", String(muted));
    text(b, muted ? "Rouvrir mon micro" : "Couper mon micro");
  }
  function stopMedia() { if (janus) janus.destroy(); }
  $("media-demarrer").addEventListener("click", publish);
  $("media-micro").addEventListener("click", function () { muteMe(!publisher.isAudioMuted()); });
  $("media-ecran").addEventListener("click", function () {
    var pc = publisher.webrtcStuff.pc;
    var video = pc.getTransceivers().filter(function (t) { return t.sender.track && t.sender.track.kind === "video"; })[0];
    publisher.replaceTracks({
      tracks: [{type: "screen", capture: true, mid: video ? video.mid : undefined}],
      success: function () { mediaState("Vous partagez votre écran."); },
      error: function () { mediaState("Partage d'écran refusé ou impossible."); }
    });
  });
  window.addEventListener("beforeunload", stopMedia);
})();
