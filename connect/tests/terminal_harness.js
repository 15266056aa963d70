// Runs static/js/terminal.js in Node with just enough of a browser, a WebSocket and xterm.js faked, then a
// scenario read from stdin, whose return value is printed as JSON (connect/tests/test_terminal_js.py).
// Usage: node terminal_harness.js path/to/terminal.js < scenario.js
"use strict";

const fs = require("fs");
const vm = require("vm");

class Element {
  constructor() {
    this.textContent = "";
    this.className = "";
    this.hidden = true;
    this.dataset = {};
  }
}

const elements = {};
for (const id of [
  "terminal",
  "terminal-status",
  "terminal-host-key",
  "terminal-host-key-message",
  "terminal-host-key-algorithm",
  "terminal-host-key-fingerprint",
  "terminal-host-key-changed",
]) {
  elements[id] = new Element();
}
elements.terminal.dataset.socketPath = "/ws/machines/1/terminal/";

const sockets = [];
class FakeWebSocket {
  static OPEN = 1;

  constructor(url) {
    this.url = url;
    this.readyState = FakeWebSocket.OPEN;
    this.sent = []; // control messages as objects, terminal bytes as {bytes: length}
    this.listeners = {};
    sockets.push(this);
  }

  addEventListener(type, listener) {
    (this.listeners[type] ||= []).push(listener);
  }

  send(data) {
    this.sent.push(typeof data === "string" ? JSON.parse(data) : { bytes: data.length });
  }

  close() {
    this.readyState = 3;
  }

  receive(data) { // a string is a control message, an ArrayBuffer terminal output
    for (const listener of this.listeners.message || []) listener({ data });
  }

  controls() {
    return this.sent.filter((message) => message.type);
  }
}

const terminals = [];
class FakeTerminal {
  constructor(options) {
    this.options = options;
    this.cols = 80;
    this.rows = 24;
    this.writing = []; // callbacks of writes xterm.js has not finished yet
    terminals.push(this);
  }

  write(data, callback) {
    this.writing.push(callback);
  }

  finishWriting(count = Infinity) { // the oldest `count` writes, or all of them
    for (const callback of this.writing.splice(0, count)) if (callback) callback();
  }

  loadAddon() {}
  open() {}
  focus() {}
  reset() {}
  paste() {}
  getSelection() { return ""; }
  onData() {}
  onBinary() {}
  onResize() {}
  attachCustomKeyEventHandler() {}
}

const opened = [];
const documentListeners = {};
function click(action) { // a click on the button with data-terminal=action
  const button = { dataset: { terminal: action }, textContent: "" };
  const event = { target: { closest: () => button } };
  for (const listener of documentListeners.click || []) listener(event);
}

const context = {
  window: { location: { protocol: "http:", host: "127.0.0.1" }, addEventListener() {}, open: (...args) => { opened.push(args); return null; } },
  document: {
    getElementById: (id) => elements[id] || null,
    addEventListener: (type, listener) => (documentListeners[type] ||= []).push(listener),
  },
  WebSocket: FakeWebSocket,
  Terminal: FakeTerminal,
  FitAddon: { FitAddon: class { fit() {} } },
  TextEncoder,
  URL,
  URLSearchParams,
  navigator: {},
  requestAnimationFrame: () => 0,
  cancelAnimationFrame() {},
  setTimeout,
  // Django's JavaScript catalog (JavaScriptCatalog) in English: identity gettext, ngettext and interpolate.
  gettext: (text) => text,
  ngettext: (singular, plural, count) => (count === 1 ? singular : plural),
  interpolate: (format, values, named) =>
    named
      ? format.replace(/%\(\w+\)s/g, (match) => String(values[match.slice(2, -2)]))
      : format.replace(/%s/g, () => String(values.shift())),
};
vm.createContext(context);
vm.runInContext(fs.readFileSync(process.argv[2], "utf8"), context);

const scenario = new Function("sockets", "terminals", "elements", "opened", "click", fs.readFileSync(0, "utf8"));
process.stdout.write(JSON.stringify(scenario(sockets, terminals, elements, opened, click)));
