/* Remote control in the virtual class (R16), as far as a browser goes: the trainer asks to
   guide a trainee's shared screen (or, without one, the board); the trainee accepts or
   refuses and takes it back at any time; while granted, the trainer's pointer and clicks are
   drawn over that screen for the whole class. Nothing reaches the trainee's system: a web
   page cannot move another computer's mouse (README, "Remote control").
   Uses the page's Socket.IO connection (class.js: window.classSocket). */
(function () {
  "use strict";
  var root = document.getElementById("classe");
  var socket = window.classSocket;
  if (!root || !socket) return;
  var sessionId = root.dataset.session;
  var isTrainer = root.dataset.trainer === "oui";
  var me = root.dataset.me;
  var $ = function (id) { return document.getElementById(id); };
  var current = null; // the `remote` notice in force (requested or granted), or null
  var pos = {x: 0.5, y: 0.5}, lastSent = 0;
  // Each position is numbered (increasing, across reloads): the server handles each event on
  // its own, so two may reach a screen in the other order; a screen keeps the latest.
  var lastN = 0, seenN = {};

  function send(event, body, done) {
    body.session_id = sessionId;
    socket.emit(event, body, function (ack) {
      ack = ack || {ok: false};
      if (!ack.ok) status((ack.error && ack.error.message) || "Action refusée.");
      if (done) done(ack);
    });
  }
  function status(message) { $("guidage-etat").textContent = message; }

  /* -- the trainer's « Guider l'écran » beside each trainee, kept as the list is redrawn -- */
  if (isTrainer) {
    var list = $("participants");
    var decorate = function () {
      Array.prototype.forEach.call(list.children, function (li) {
        var person = li.id.slice(2);
        var kind = li.querySelector(".hint");
        if (li.querySelector(".guider") || !kind || kind.textContent !== "stagiaire") return;
        var name = li.querySelector(".name").textContent;
        var b = document.createElement("button");
        b.type = "button"; b.className = "secondary guider"; b.textContent = "Guider l'écran";
        b.setAttribute("aria-label", "Guider l'écran de " + name + " (avec son accord)");
        b.addEventListener("click", function () {
          send("remote_request", {target: person}, function (ack) {
            if (ack.ok) status("Demande envoyée à " + name + " : en attente de son accord.");
          });
        });
        li.appendChild(b);
      });
    };
    new MutationObserver(decorate).observe(list, {childList: true});
    decorate();
  }

  /* -- what the room is told: requested, granted, refused, ended -------------------------- */
  socket.on("remote", function (msg) {
    var owner = msg.owner, mine = owner.id === me, leading = msg.controller.id === me;
    delete seenN[owner.id]; // a new guidance: its trainer's page numbers from its own clock
    $("guidage-demande").hidden = !(msg.state === "requested" && mine);
    if (msg.state === "requested") {
      current = msg;
      if (mine) {
        $("guidage-qui").textContent = msg.controller.name;
        $("guidage-accepter").focus();
        status("");
      } else if (!leading) {
        status(msg.controller.name + " demande à guider l'écran de " + owner.name + ".");
      }
    } else if (msg.state === "granted") {
      current = msg;
      status(mine
        ? msg.controller.name + " guide votre écran : son pointeur s'y affiche pour toute la classe."
        : leading
          ? "Vous guidez l'écran de " + owner.name + "."
          : msg.controller.name + " guide l'écran de " + owner.name + " : son pointeur s'y affiche.");
    } else {
      current = null;
      hidePointer();
      status(msg.state === "refused"
        ? owner.name + " a refusé le guidage de son écran."
        : "Guidage de l'écran de " + owner.name + " terminé.");
    }
    var stoppable = current && (mine || isTrainer);
    $("guidage-arreter").hidden = !stoppable;
    $("guidage-arreter").textContent = current && current.state === "requested"
      ? "Retirer la demande" : "Arrêter le guidage";
    $("guidage-aide").hidden = !(current && current.state === "granted" && leading);
    arm(current && current.state === "granted" && leading ? owner.id : null);
  });
  function answer(accept) {
    if (!current) return;
    send("remote_answer", {id: current.id, accept: accept});
  }
  $("guidage-accepter").addEventListener("click", function () { answer(true); });
  $("guidage-refuser").addEventListener("click", function () { answer(false); });
  $("guidage-arreter").addEventListener("click", function () { send("remote_end", {}); });

  /* -- the pointer: drawn over the guided person's screen (their shared video), or the board */
  function surface(owner) {
    var fig = document.querySelector('#videos figure[data-person="' + owner + '"] video');
    return fig || $("tableau");
  }
  function pointer() {
    var p = $("pointeur");
    if (!p) {
      p = document.createElement("span");
      p.id = "pointeur"; p.className = "pointeur"; p.setAttribute("aria-hidden", "true");
    }
    return p;
  }
  function showPointer(owner, x, y, click) {
    var target = surface(owner), p = pointer();
    if (p.parentNode !== target.parentNode) target.parentNode.appendChild(p);
    p.hidden = false;
    p.style.left = (target.offsetLeft + x * target.offsetWidth) + "px";
    p.style.top = (target.offsetTop + y * target.offsetHeight) + "px";
    p.dataset.x = x; p.dataset.y = y;
    if (click) {
      p.classList.remove("clic"); void p.offsetWidth; p.classList.add("clic");
    }
  }
  function hidePointer() { var p = $("pointeur"); if (p) p.hidden = true; }
  socket.on("remote_pointer", function (msg) {
    if (typeof msg.n === "number") {
      if (msg.n <= (seenN[msg.owner] || 0)) return; // an older position, come late
      seenN[msg.owner] = msg.n;
    }
    showPointer(msg.owner, msg.x, msg.y, msg.click);
  });

  /* -- the trainer granted points with the mouse, a finger, or the arrow keys -------------- */
  var armed = null;
  function point(click) {
    var now = Date.now();
    if (!click && now - lastSent < 50) return; // 20 positions a second at most
    lastSent = now;
    showPointer(armed.owner, pos.x, pos.y, click);
    lastN = Math.max(Date.now(), lastN + 1);
    send("remote_pointer", {x: pos.x, y: pos.y, click: click, n: lastN});
  }
  function onMove(e) {
    var r = e.currentTarget.getBoundingClientRect();
    pos.x = Math.min(1, Math.max(0, (e.clientX - r.left) / r.width));
    pos.y = Math.min(1, Math.max(0, (e.clientY - r.top) / r.height));
    point(false);
  }
  function onClick() { point(true); }
  function onKey(e) {
    var step = {ArrowLeft: [-0.02, 0], ArrowRight: [0.02, 0], ArrowUp: [0, -0.02], ArrowDown: [0, 0.02]}[e.key];
    if (step) {
      pos.x = Math.min(1, Math.max(0, pos.x + step[0]));
      pos.y = Math.min(1, Math.max(0, pos.y + step[1]));
      lastSent = 0;
      point(false);
    } else if (e.key === "Enter" || e.key === " ") {
      point(true);
    } else {
      return;
    }
    e.preventDefault();
  }
  function arm(owner) {
    if (armed) {
      armed.el.removeEventListener("pointermove", onMove);
      armed.el.removeEventListener("click", onClick);
      armed.el.removeEventListener("keydown", onKey);
      armed = null;
    }
    if (!owner) return;
    var el = surface(owner);
    el.tabIndex = 0;
    el.addEventListener("pointermove", onMove);
    el.addEventListener("click", onClick);
    el.addEventListener("keydown", onKey);
    armed = {el: el, owner: owner};
    pos = {x: 0.5, y: 0.5};
  }
})();
