// The browser terminal (templates/connect/terminal.html): xterm.js joined to a VM over a WebSocket.
// Binary frames carry the terminal's bytes both ways, text frames JSON control messages (connect/terminal_protocol.py).
// Text from the server is only ever shown with textContent, never parsed as HTML.
"use strict";

(() => {
  const area = document.getElementById("terminal");
  const status = document.getElementById("terminal-status");
  if (!area) return;
  if (typeof Terminal === "undefined" || typeof FitAddon === "undefined") {
    setStatus(gettext("The terminal's scripts did not load: reload the page."), "danger");
    return;
  }

  const CHUNK = 16 * 1024; // bytes per frame: a long paste goes in pieces, well below the server's 64 KiB limit
  const encoder = new TextEncoder();
  const hostKeyChanged = document.getElementById("terminal-host-key-changed");
  const hostKey = {
    panel: document.getElementById("terminal-host-key"),
    message: document.getElementById("terminal-host-key-message"),
    algorithm: document.getElementById("terminal-host-key-algorithm"),
    fingerprint: document.getElementById("terminal-host-key-fingerprint"),
  };

  const term = new Terminal({
    cursorBlink: true,
    fontFamily: 'ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace',
    fontSize: 14,
    scrollback: 5000,
    linkHandler: { activate: openLink }, // links a program prints with OSC 8
  });
  const fit = new FitAddon.FitAddon();
  term.loadAddon(fit);
  term.open(area);

  let socket = null;
  let offeredFingerprint = "";
  let finalWord = false; // an error or closed message explains the end better than the close event
  // Output flow control (connect/terminal_protocol.py): the server sends a mark after every 64 KiB of output and
  // stops once about 1 MiB is sent but not shown. Each mark is echoed once the output before it has been written.
  let marksAfterWriting = null; // the marks that follow the output xterm is still writing, or null once it is done

  function setStatus(text, tone) {
    status.textContent = text;
    status.className = tone ? `alert alert-${tone}` : "alert";
    status.hidden = false;
  }

  // Only web pages, in a new tab that cannot reach back to this one: never javascript:, data: or file: links.
  function openLink(event, uri) {
    let url;
    try {
      url = new URL(uri);
    } catch {
      return;
    }
    if (url.protocol === "http:" || url.protocol === "https:") window.open(url.href, "_blank", "noopener,noreferrer");
  }

  function showOutput(ws, bytes) {
    const marks = [];
    marksAfterWriting = marks;
    term.write(bytes, () => {
      if (marksAfterWriting === marks) marksAfterWriting = null;
      if (ws !== socket) return; // written after a reconnect: the old socket's marks no longer matter
      for (const id of marks) sendControl({ type: "ack", id });
    });
  }

  // xterm writes in order: once the latest output is written, so is all the output before the mark.
  function echoMark(id) {
    if (marksAfterWriting) marksAfterWriting.push(id);
    else sendControl({ type: "ack", id });
  }

  function showHostKey(message) {
    offeredFingerprint = message.fingerprint;
    hostKey.message.textContent = message.message;
    hostKey.algorithm.textContent = message.algorithm;
    hostKey.fingerprint.textContent = message.fingerprint;
    hostKey.panel.hidden = false;
  }

  function hideHostKey() {
    offeredFingerprint = "";
    hostKey.panel.hidden = true;
  }

  function sendBytes(bytes) {
    if (!socket || socket.readyState !== WebSocket.OPEN) return;
    for (let start = 0; start < bytes.length; start += CHUNK) socket.send(bytes.subarray(start, start + CHUNK));
  }

  function sendControl(message) {
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
  }

  function onControl(message) {
    switch (message.type) {
      case "status":
        setStatus(message.message);
        break;
      case "host_key":
        showHostKey(message);
        setStatus(gettext("First connection to this VM: check the host key below, then trust it or cancel."), "warning");
        break;
      case "mark":
        echoMark(message.id);
        break;
      case "connected":
        hideHostKey();
        setStatus(gettext("Connected."));
        // The window may have been resized while connecting, before the shell could take the new size.
        sendControl({ type: "resize", cols: term.cols, rows: term.rows });
        term.focus();
        break;
      case "error":
        finalWord = true;
        hideHostKey();
        setStatus(message.message, "danger");
        if (message.kind === "host_key_changed") hostKeyChanged.hidden = false;
        break;
      case "closed":
        finalWord = true;
        hideHostKey();
        setStatus(message.message, "warning");
        break;
    }
  }

  function connect() {
    fit.fit();
    const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
    const query = new URLSearchParams({ cols: term.cols, rows: term.rows });
    const ws = new WebSocket(`${scheme}//${window.location.host}${area.dataset.socketPath}?${query}`);
    ws.binaryType = "arraybuffer";
    socket = ws;
    finalWord = false;
    marksAfterWriting = null;
    hostKeyChanged.hidden = true;
    setStatus(gettext("Connecting…"));
    ws.addEventListener("message", (event) => {
      if (ws !== socket) return;
      if (typeof event.data === "string") onControl(JSON.parse(event.data));
      else showOutput(ws, new Uint8Array(event.data));
    });
    ws.addEventListener("close", () => {
      if (ws !== socket) return; // closed on purpose by Reconnect or Disconnect
      socket = null;
      hideHostKey();
      if (!finalWord) {
        setStatus(gettext("The connection closed. If you were logged out, reload the page; otherwise press Reconnect."), "warning");
      }
    });
  }

  function disconnect(text) {
    const ws = socket;
    socket = null;
    hideHostKey();
    if (ws) ws.close(1000);
    if (text) setStatus(text, "warning");
  }

  function flash(button, label) {
    if (!button) return;
    const original = button.textContent;
    button.textContent = label;
    setTimeout(() => { button.textContent = original; }, 1500);
  }

  function copySelection(button) {
    const text = term.getSelection();
    if (!text) return flash(button, gettext("Nothing selected"));
    if (!navigator.clipboard) return flash(button, gettext("No clipboard access"));
    navigator.clipboard.writeText(text).then(() => flash(button, gettext("Copied")), () => flash(button, gettext("Copy refused")));
  }

  function pasteClipboard(button) {
    if (!navigator.clipboard || !navigator.clipboard.readText) return flash(button, gettext("Use Ctrl+V"));
    navigator.clipboard.readText().then((text) => {
      term.paste(text);
      term.focus();
    }, () => flash(button, gettext("Paste refused: use Ctrl+V")));
  }

  // Typing and the browser's own paste (xterm handles the paste event) both arrive here as text.
  term.onData((data) => sendBytes(encoder.encode(data)));
  // Some mouse reports are raw bytes, one per character.
  term.onBinary((data) => sendBytes(Uint8Array.from(data, (char) => char.charCodeAt(0))));
  term.onResize(({ cols, rows }) => sendControl({ type: "resize", cols, rows }));
  term.attachCustomKeyEventHandler((event) => {
    if (event.type !== "keydown" || !event.ctrlKey || !event.shiftKey) return true;
    if (event.code === "KeyC") copySelection(null);
    else if (event.code === "KeyV") pasteClipboard(null);
    else return true;
    event.preventDefault(); // neither the browser's shortcut nor a key sent to the shell
    return false;
  });

  let resizing = 0;
  window.addEventListener("resize", () => {
    cancelAnimationFrame(resizing);
    resizing = requestAnimationFrame(() => fit.fit());
  });

  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-terminal]");
    if (!button) return;
    switch (button.dataset.terminal) {
      case "copy":
        copySelection(button);
        break;
      case "paste":
        pasteClipboard(button);
        break;
      case "reconnect":
        disconnect();
        term.reset();
        connect();
        break;
      case "disconnect":
        if (socket) disconnect(gettext("Disconnected."));
        break;
      case "trust":
        sendControl({ type: "trust", fingerprint: offeredFingerprint });
        hideHostKey();
        setStatus(gettext("Host key trusted: connecting…"));
        break;
      case "cancel":
        disconnect(gettext("Cancelled: the host key was not trusted and nothing was stored."));
        break;
    }
  });

  connect();
})();
