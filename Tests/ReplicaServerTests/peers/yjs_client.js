#!/usr/bin/env node
// A real Yjs client (Debian's node-yjs 13.5 + y-websocket's WebsocketProvider on node-ws),
// scripted through stdin like pyws_client.py, as a test peer.
//
// Usage: NODE_PATH=/usr/share/nodejs node yjs_client.js URL ROOM [--client-id N] [--token T]
//                                        [--connect-timeout 10] [--max-seconds 600]
//
// Connects to URL + "/" + ROOM as any Yjs app does (URL is ws://HOST:PORT/parties/main). Start-up:
// one JSON line {"ready": true, "client_id": N} once the provider is synced (its first SyncStep2;
// a server may send the rest of a large document in later messages: use wait-length).
// Commands, one per line; exactly one JSON line answers each:
//   insert NAME POS STRING        -> {"ok": true}        (POS in UTF-16 units, as Yjs)
//   text NAME                     -> {"ok": true, "text": "..."}
//   wait-text NAME EXPECTED TIMEOUT_S   -> {"ok": true|false, "text": "...", "timeout"?: true}
//   wait-length NAME LENGTH TIMEOUT_S   -> {"ok": true|false, "length": n}   (UTF-16 length)
//   state                         -> {"ok": true, "state": "<base64 update v1>"}
//   awareness JSON                -> {"ok": true}        sets the local awareness state
//   quit                          -> {"ok": true, "bye": true}; waits until the socket has sent
//                                    everything (bounded), closes it, exit 0
// Tokens are separated by spaces; a token starting with '"' is a JSON string. Errors answer
// {"ok": false, "error": "..."}. End of stdin = quit. Every wait is bounded.
'use strict'

const Y = require('yjs')
const { WebsocketProvider } = require('y-websocket')
const WebSocket = require('ws')
const readline = require('readline')

function fail (message) {
  process.stderr.write(`yjs_client: ${message}\n`)
  process.exit(1)
}

const args = process.argv.slice(2)
const positional = []
const options = { 'client-id': null, token: null, 'connect-timeout': '10', 'max-seconds': '600' }
for (let i = 0; i < args.length; i++) {
  if (args[i].startsWith('--')) {
    const key = args[i].slice(2)
    if (!(key in options) || i + 1 >= args.length) fail(`unknown or incomplete option ${args[i]}`)
    options[key] = args[++i]
  } else {
    positional.push(args[i])
  }
}
if (positional.length !== 2) fail('usage: yjs_client.js URL ROOM [--client-id N] [--token T]')
const [url, room] = positional

setTimeout(() => fail(`--max-seconds ${options['max-seconds']} reached`), Number(options['max-seconds']) * 1000).unref()

const doc = new Y.Doc()
if (options['client-id'] !== null) doc.clientID = Number(options['client-id'])
const params = options.token !== null ? { token: options.token } : {}
const provider = new WebsocketProvider(url, room, doc, { WebSocketPolyfill: WebSocket, params, maxBackoffTime: 500 })

const connectTimer = setTimeout(() => fail(`not synced within ${options['connect-timeout']} s with ${url}/${room}`),
  Number(options['connect-timeout']) * 1000)
provider.once('synced', () => {
  clearTimeout(connectTimer)
  console.log(JSON.stringify({ ready: true, client_id: doc.clientID }))
  startCommands()
})

function tokens (line) {
  const out = []
  let i = 0
  while (i < line.length) {
    if (line[i] === ' ') { i++; continue }
    if (line[i] === '"') {
      // The shortest prefix that parses as a JSON string.
      let end = i + 1
      for (;;) {
        end = line.indexOf('"', end)
        if (end < 0) throw new Error('unterminated string')
        try { out.push(JSON.parse(line.slice(i, end + 1))); break } catch (_) { end++ }
      }
      i = end + 1
    } else {
      const end = line.indexOf(' ', i) < 0 ? line.length : line.indexOf(' ', i)
      out.push(line.slice(i, end))
      i = end
    }
  }
  return out
}

// Resolves when `check()` holds (re-checked on every document update), or after `seconds`.
function waitFor (check, seconds) {
  return new Promise((resolve) => {
    if (check()) return resolve(true)
    const onUpdate = () => { if (check()) { done(true) } }
    const timer = setTimeout(() => done(false), seconds * 1000)
    function done (ok) { clearTimeout(timer); doc.off('update', onUpdate); resolve(ok) }
    doc.on('update', onUpdate)
  })
}

async function quit () {
  // What is still buffered in the socket is sent before the close (at most 5 s).
  const ws = provider.ws
  const deadline = Date.now() + 5000
  while (ws && ws.bufferedAmount > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10))
  console.log(JSON.stringify({ ok: true, bye: true }))
  provider.destroy()
  process.exit(0)
}

async function run (line) {
  const [command, ...rest] = tokens(line)
  switch (command) {
    case 'insert': {
      const [name, pos, text] = rest
      doc.getText(name).insert(Number(pos), text)
      return { ok: true }
    }
    case 'text':
      return { ok: true, text: doc.getText(rest[0]).toString() }
    case 'wait-text': {
      const [name, expected, seconds] = rest
      const ok = await waitFor(() => doc.getText(name).toString() === expected, Number(seconds))
      const text = doc.getText(name).toString()
      return ok ? { ok, text } : { ok, text, timeout: true }
    }
    case 'wait-length': {
      const [name, length, seconds] = rest
      const ok = await waitFor(() => doc.getText(name).length >= Number(length), Number(seconds))
      return { ok, length: doc.getText(name).length }
    }
    case 'state':
      return { ok: true, state: Buffer.from(Y.encodeStateAsUpdate(doc)).toString('base64') }
    case 'awareness':
      provider.awareness.setLocalState(JSON.parse(line.slice('awareness '.length)))
      return { ok: true }
    case 'quit':
      return quit()
    default:
      return { ok: false, error: `unknown command ${command}` }
  }
}

function startCommands () {
  const input = readline.createInterface({ input: process.stdin })
  let queue = Promise.resolve()
  input.on('line', (line) => {
    queue = queue.then(async () => {
      let answer
      try { answer = await run(line) } catch (error) { answer = { ok: false, error: String(error) } }
      if (answer) console.log(JSON.stringify(answer))
    })
  })
  input.on('close', () => { queue = queue.then(quit) })
}
